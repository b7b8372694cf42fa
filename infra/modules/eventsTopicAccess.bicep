// Continuous protection: what one vault's Event Grid system topic may do in the backup account
// (deployed into the backup account's resource group, from the vault's side). Exactly the roles
// Event Grid documents for managed-identity delivery (learn.microsoft.com/azure/event-grid/add-identity-roles):
// Storage Queue Data Message Sender on the events queue (add messages, nothing else) and Storage
// Blob Data Contributor on the dead-letter container. Each on its queue or container, never the account.

@description('The backup storage account.')
param accountName string

@description('The events queue (BACKUP_EVENTS_QUEUE).')
param queueName string

@description('The dead-letter container (BACKUP_EVENTS_DEADLETTER_CONTAINER).')
param deadLetterContainerName string

@description('Principal id of the system topic\'s system-assigned identity.')
param principalId string

@description('Resource id of the system topic: names the assignments, so a redeployment finds them again.')
param topicId string

var roles = {
  queueMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

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

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account::queueService::queue.id, topicId, roles.queueMessageSender)
  scope: account::queueService::queue
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueMessageSender)
  }
}

resource deadLetter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account::blobService::container.id, topicId, roles.blobDataContributor)
  scope: account::blobService::container
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataContributor)
  }
}
