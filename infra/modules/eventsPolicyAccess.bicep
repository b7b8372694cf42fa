// Continuous protection for discovered vaults: what the Azure Policy assignment's identity may do in
// the backup account's resource group (one deployment per discovery subscription). It gives each
// system topic the policy makes the two roles Event Grid's delivery needs, and nothing else:
// - Role Based Access Control Administrator on the events queue, with a condition that lets it add
//   or remove only Storage Queue Data Message Sender, only for service principals (a topic's
//   identity is one); and the same on the dead-letter container for Storage Blob Data Contributor.
//   The scope keeps it off the backup container and the account; the condition keeps it from any
//   other role ("delegate role assignment management with conditions",
//   learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-examples).
// - "Key Vault Events Deployer (<env>)" on the resource group: the nested deployment that carries
//   those assignments is made here, and a deployment can do nothing its caller may not.

@description('Principal id of the policy assignment\'s system-assigned identity.')
param principalId string

param accountName string
param queueName string
param deadLetterContainerName string

@description('GUID of the custom "Key Vault Events Deployer (<env>)" role.')
param deployerRoleGuid string

var roles = {
  rbacAdministrator: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'
  queueMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

// The documented "constrain roles and principal types" condition: a write is checked on the
// request's role and principal type, a delete on the existing assignment's (two conditions: the
// attribute source differs per action).
func onlyRole(roleGuid string) string =>
  '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${roleGuid}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'ServicePrincipal\'})) AND ((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/delete\'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${roleGuid}} AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'ServicePrincipal\'}))'

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: accountName

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource queue 'queues' existing = {
      name: queueName
    }
  }

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource container 'containers' existing = {
      name: deadLetterContainerName
    }
  }
}

resource queueDelegation 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account::queueService::queue.id, principalId, roles.rbacAdministrator)
  scope: account::queueService::queue
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.rbacAdministrator)
    description: 'kvbackup continuous protection: the policy gives each new Key Vault system topic Storage Queue Data Message Sender on the events queue, and nothing else.'
    condition: onlyRole(roles.queueMessageSender)
    conditionVersion: '2.0'
  }
}

resource deadLetterDelegation 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account::blobService::container.id, principalId, roles.rbacAdministrator)
  scope: account::blobService::container
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.rbacAdministrator)
    description: 'kvbackup continuous protection: the policy gives each new Key Vault system topic Storage Blob Data Contributor on the dead-letter container, and nothing else.'
    condition: onlyRole(roles.blobDataContributor)
    conditionVersion: '2.0'
  }
}

resource deployer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, deployerRoleGuid)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', deployerRoleGuid)
  }
}
