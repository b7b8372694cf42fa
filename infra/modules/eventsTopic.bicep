// Continuous protection for one listed vault (deployed into the vault's own subscription and
// resource group): the vault's Event Grid system topic with its system-assigned identity, that
// identity's roles in the backup account, then the subscription that delivers the vault's
// new-version events to the events queue. Discovered vaults get the same from the policy
// (eventsPolicy.bicep), built from the same eventsSubscriptionProperties.

import { eventsSubscriptionName, eventsSubscriptionProperties, eventsTopicName } from 'types.bicep'

@description('Name of an existing Key Vault in this resource group.')
param vaultName string

@description('The system topic the vault already has (Event Grid allows one per source resource): the subscription is added to it. Empty: the template creates kvbackup-<vault>.')
param existingTopicName string

@description('The vault\'s location (a regional source\'s system topic lives in the source\'s location).')
param location string

param tags object

@description('The backup storage account: { subscriptionId, resourceGroup, name }.')
param backupAccount { subscriptionId: string, resourceGroup: string, name: string }

param queueName string
param deadLetterContainerName string

@description('Log Analytics workspace for the topic\'s DeliveryFailures logs (AegDeliveryFailureLogs).')
param workspaceId string

var createTopic = empty(existingTopicName)
var topicName = createTopic ? eventsTopicName(vaultName) : existingTopicName
var accountId = resourceId(
  backupAccount.subscriptionId,
  backupAccount.resourceGroup,
  'Microsoft.Storage/storageAccounts',
  backupAccount.name
)

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: vaultName
}

// The system topic lives where the vault is; its identity is system-assigned because behind the
// storage firewall only that one is accepted.
resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (createTopic) {
  name: topicName
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource givenTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (!createTopic) {
  name: topicName
}

// Either of the two, as the parent of what goes on it.
resource anyTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

var principalId = createTopic ? topic!.identity.principalId : givenTopic!.identity.principalId

module access 'eventsTopicAccess.bicep' = {
  name: 'kvbackup-events-access-${uniqueString(vault.id)}'
  scope: resourceGroup(backupAccount.subscriptionId, backupAccount.resourceGroup)
  params: {
    accountName: backupAccount.name
    queueName: queueName
    deadLetterContainerName: deadLetterContainerName
    principalId: principalId
    topicId: resourceId('Microsoft.EventGrid/systemTopics', topicName)
  }
}

// After the roles: a subscription made before its identity may write gets its first deliveries
// refused (they are retried, so nothing is lost, but the failure logs would cry wolf).
resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: anyTopic
  name: eventsSubscriptionName
  properties: eventsSubscriptionProperties(accountId, queueName, deadLetterContainerName)
  dependsOn: [access, topic]
}

// Delivery failures into the workspace (AegDeliveryFailureLogs), where the events alert reads them;
// on a given topic too (a setting of its own, beside whatever its owner has).
// 2021-05-01-preview: see backupStorage.bicep's diagnostic settings.
#disable-next-line use-recent-api-versions
resource deliveryFailures 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'kvbackup'
  scope: anyTopic
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [{ category: 'DeliveryFailures', enabled: true }]
  }
  dependsOn: [topic]
}

output principalId string = principalId
output topicName string = topicName
