targetScope = 'subscription'

// Continuous protection for the vaults discovery finds (one deployment per discovery subscription):
// an Azure Policy deployIfNotExists that gives every Key Vault in this subscription carrying the
// backup tag (every vault when there is no tag) its system topic, the topic's two roles in the
// backup account and the event subscription — for vaults made or tagged after this deployment too
// (Azure Policy evaluates a resource when it is created or updated), and for the vaults that exist
// now through a remediation.
//
// Why a policy and not a reconciler in the app: the app stays what it is, an identity that can list
// and back up but change nothing in Azure. A reconciler would need rights to create Event Grid
// resources in every discovery subscription and to assign roles on the backup account, held by the
// same identity that reads every vault's backups. The policy's identity holds them instead, apart
// from the data, and narrowly: EventGrid Contributor on the subscription (what the topics need),
// and on the backup side only the two role assignments (eventsPolicyAccess.bicep).

@description('The environment name: names the definition and the assignment.')
param environmentName string

@description('Where the assignment\'s managed identity lives (required for an assignment with an identity).')
param location string

@description('"name=value": only vaults with that tag (discoveryVaultTag); empty = every vault in the subscription.')
param vaultTag string

@description('The backup storage account: its subscription, resource group and name (plain strings rather than one typed object: see subscriptionProperties).')
param backupSubscriptionId string
param backupResourceGroup string
param backupAccountName string

param queueName string
param deadLetterContainerName string

@description('The event subscription on each topic: its name and properties, as types.bicep\'s eventsSubscriptionName and eventsSubscriptionProperties make them for the listed vaults\' topics (passed in rather than imported: a module that imports functions or takes typed objects compiles to ARM language version 2.0, where `bicep snapshot` leaves a policy rule unevaluated, and the tests read the rule from the snapshot).')
param subscriptionName string
param subscriptionProperties object

@description('GUID of the custom "Key Vault Events Deployer (<env>)" role.')
param deployerRoleGuid string

var roles = {
  eventGridContributor: '1e241071-0855-49ea-94dc-649edcd759de'
  rbacAdministrator: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'
}
var tagName = empty(vaultTag) ? '' : split(vaultTag, '=')[0]
var tagValue = empty(vaultTag) ? '' : substring(vaultTag, length(tagName) + 1)
var topicApiVersion = '2025-02-15'
var definitionName = 'kvbackup-events-${environmentName}'

// The template the remediation deploys into a vault's resource group: the topic named as the
// template's own topics are (eventsTopicName), its roles through a deployment in the backup
// account's resource group, then the subscription (eventsSubscriptionProperties, shared). Template
// expressions stay as written: Azure Policy passes them to the deployment unevaluated.
var topicName = '[concat(\'kvbackup-\', toLower(parameters(\'vaultName\')))]'
var topicId = '[resourceId(\'Microsoft.EventGrid/systemTopics\', variables(\'topicName\'))]'
var accessName = 'concat(\'kvbackup-events-access-\', uniqueString(parameters(\'vaultId\')))'
var roleAssignment = {
  type: 'Microsoft.Authorization/roleAssignments'
  apiVersion: '2022-04-01'
  properties: {
    principalId: '[parameters(\'principalId\')]'
    principalType: 'ServicePrincipal'
  }
}
var accessTemplate = {
  '$schema': 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#'
  contentVersion: '1.0.0.0'
  parameters: {
    principalId: { type: 'string' }
    topicId: { type: 'string' }
  }
  resources: [
    union(roleAssignment, {
      scope: 'Microsoft.Storage/storageAccounts/${backupAccountName}/queueServices/default/queues/${queueName}'
      name: '[guid(resourceId(\'Microsoft.Storage/storageAccounts/queueServices/queues\', \'${backupAccountName}\', \'default\', \'${queueName}\'), parameters(\'topicId\'), \'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a\')]'
      properties: union(roleAssignment.properties, {
        roleDefinitionId: '[subscriptionResourceId(\'Microsoft.Authorization/roleDefinitions\', \'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a\')]'
      })
    })
    union(roleAssignment, {
      scope: 'Microsoft.Storage/storageAccounts/${backupAccountName}/blobServices/default/containers/${deadLetterContainerName}'
      name: '[guid(resourceId(\'Microsoft.Storage/storageAccounts/blobServices/containers\', \'${backupAccountName}\', \'default\', \'${deadLetterContainerName}\'), parameters(\'topicId\'), \'ba92f5b4-2d11-453d-a403-e96b0029c9fe\')]'
      properties: union(roleAssignment.properties, {
        roleDefinitionId: '[subscriptionResourceId(\'Microsoft.Authorization/roleDefinitions\', \'ba92f5b4-2d11-453d-a403-e96b0029c9fe\')]'
      })
    })
  ]
}
var vaultTemplate = {
  '$schema': 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#'
  contentVersion: '1.0.0.0'
  parameters: {
    vaultName: { type: 'string' }
    vaultId: { type: 'string' }
    location: { type: 'string' }
  }
  variables: {
    topicName: topicName
  }
  resources: [
    {
      type: 'Microsoft.EventGrid/systemTopics'
      apiVersion: topicApiVersion
      name: '[variables(\'topicName\')]'
      location: '[parameters(\'location\')]'
      identity: { type: 'SystemAssigned' }
      properties: {
        source: '[parameters(\'vaultId\')]'
        topicType: 'Microsoft.KeyVault.vaults'
      }
    }
    {
      type: 'Microsoft.Resources/deployments'
      apiVersion: '2025-04-01'
      name: '[${accessName}]'
      subscriptionId: backupSubscriptionId
      resourceGroup: backupResourceGroup
      dependsOn: [topicId]
      properties: {
        mode: 'Incremental'
        expressionEvaluationOptions: { scope: 'inner' }
        parameters: {
          principalId: { value: '[reference(${substring(topicId, 1, length(topicId) - 2)}, \'${topicApiVersion}\', \'full\').identity.principalId]' }
          topicId: { value: topicId }
        }
        template: accessTemplate
      }
    }
    {
      type: 'Microsoft.EventGrid/systemTopics/eventSubscriptions'
      apiVersion: topicApiVersion
      name: '[concat(variables(\'topicName\'), \'/${subscriptionName}\')]'
      dependsOn: [
        '[resourceId(\'${backupSubscriptionId}\', \'${backupResourceGroup}\', \'Microsoft.Resources/deployments\', ${accessName})]'
      ]
      properties: subscriptionProperties
    }
  ]
}

resource definition 'Microsoft.Authorization/policyDefinitions@2026-07-01' = {
  name: definitionName
  properties: {
    displayName: 'kvbackup (${environmentName}): Key Vaults send their new-version events to the backup events queue'
    description: 'Continuous protection: every Key Vault ${empty(vaultTag) ? '' : 'tagged ${vaultTag} '}gets an Event Grid system topic (system-assigned identity) with a subscription that delivers SecretNewVersionCreated, KeyNewVersionCreated and CertificateNewVersionCreated to the backup account\'s events queue and dead-letters into its dead-letter container.'
    policyType: 'Custom'
    mode: 'Indexed'
    metadata: { category: 'Key Vault' }
    policyRule: {
      if: {
        allOf: concat(
          [{ field: 'type', equals: 'Microsoft.KeyVault/vaults' }],
          empty(tagName) ? [] : [{ field: 'tags[\'${tagName}\']', equals: tagValue }]
        )
      }
      then: {
        effect: 'deployIfNotExists'
        details: {
          type: 'Microsoft.EventGrid/systemTopics'
          // Compliant: the vault's resource group holds the system topic this policy (or the
          // template) makes for it, on this vault. A vault whose one system topic is someone else's
          // stays non-compliant and its remediation fails (Event Grid allows one system topic per
          // source): list it in `vaults` with eventsSystemTopic and exempt it (docs/deploy.md).
          // Aliases Microsoft.EventGrid/systemTopics/source: see docs/deploy.md's unverified list.
          existenceCondition: {
            allOf: [
              { field: 'name', equals: '[concat(\'kvbackup-\', toLower(field(\'name\')))]' }
              { field: 'Microsoft.EventGrid/systemTopics/source', equals: '[field(\'id\')]' }
            ]
          }
          roleDefinitionIds: [
            '/providers/Microsoft.Authorization/roleDefinitions/${roles.eventGridContributor}'
            '/providers/Microsoft.Authorization/roleDefinitions/${roles.rbacAdministrator}'
            '/subscriptions/${backupSubscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${deployerRoleGuid}'
          ]
          deployment: {
            properties: {
              mode: 'incremental'
              template: vaultTemplate
              parameters: {
                vaultName: { value: '[field(\'name\')]' }
                vaultId: { value: '[field(\'id\')]' }
                location: { value: '[field(\'location\')]' }
              }
            }
          }
        }
      }
    }
  }
}

resource assignment 'Microsoft.Authorization/policyAssignments@2026-07-01' = {
  name: definitionName
  location: location
  identity: { type: 'SystemAssigned' }
  properties: {
    displayName: definition.properties.displayName
    policyDefinitionId: definition.id
    enforcementMode: 'Default'
  }
}

// What the topics need: create system topics and event subscriptions (and the deployments that
// carry them) in the vaults' resource groups.
resource eventGrid 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, definitionName, roles.eventGridContributor)
  properties: {
    principalId: assignment.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventGridContributor)
  }
}

module access 'eventsPolicyAccess.bicep' = {
  name: 'kvbackup-events-policy-access-${uniqueString(subscription().id, definitionName)}'
  scope: resourceGroup(backupSubscriptionId, backupResourceGroup)
  params: {
    principalId: assignment.identity.principalId
    accountName: backupAccountName
    queueName: queueName
    deadLetterContainerName: deadLetterContainerName
    deployerRoleGuid: deployerRoleGuid
  }
}

// The vaults that exist now: evaluate them first (a new assignment has not been evaluated yet), then
// deploy for those without. New role assignments can take minutes to apply: a vault whose
// remediation failed for that is remediated by running one again (docs/deploy.md).
resource remediation 'Microsoft.PolicyInsights/remediations@2024-10-01' = {
  name: definitionName
  properties: {
    policyAssignmentId: assignment.id
    resourceDiscoveryMode: 'ReEvaluateCompliance'
  }
  dependsOn: [eventGrid, access]
}

output principalId string = assignment.identity.principalId
output assignmentId string = assignment.id
