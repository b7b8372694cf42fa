// Shared parameter types (compile-time imports: `import { vaultRef } from 'modules/types.bicep'`).

@export()
@description('A Key Vault the app reaches. Vaults may live in any resource group and any subscription of the tenant.')
type vaultRef = {
  @description('The vault name (the DNS label of https://<name>.vault.azure.net).')
  @minLength(3)
  @maxLength(24)
  name: string

  @description('The vault\'s resource group.')
  resourceGroup: string

  @description('The vault\'s subscription id; omitted = the subscription this template is deployed to.')
  subscriptionId: string?

  @description('How the vault authorizes: rbac (the default: role assignments) or accessPolicy (the vault still uses access policies, where a role assignment does nothing: the template adds an access policy with the same rights instead — list, backup, restore, never get).')
  accessModel: ('rbac' | 'accessPolicy')?

  @description('Continuous protection only: the name of the Event Grid system topic the vault already has (Event Grid allows one per vault, so a second one cannot be made). The subscription is added to it; it must have its system-assigned identity on (az eventgrid system-topic update --identity systemassigned). Omitted: the template creates "kvbackup-<vault>".')
  eventsSystemTopic: string?
}

@export()
@description('Existing privatelink DNS zones (resource ids), e.g. in a hub subscription. A zone given here is used as is; a zone left out is created (and linked to the VNet) by the template.')
type privateDnsZoneIds = {
  @description('privatelink.blob.<storage suffix>')
  blob: string?
  @description('privatelink.queue.<storage suffix>')
  queue: string?
  @description('privatelink.table.<storage suffix>')
  table: string?
  @description('privatelink.vaultcore.<suffix> (used by the vault private endpoints, vaultPrivateEndpoints)')
  vault: string?
}

@export()
@description('A vault normalized for the assignment modules: subscription always set, plus the role definition GUIDs each principal gets on it.')
type vaultGrant = {
  name: string
  resourceGroup: string
  subscriptionId: string
  @description('Role definition GUIDs (names) for the Function App\'s identity.')
  appRoles: string[]
  @description('Role definition GUIDs (names) for the operator principal.')
  operatorRoles: string[]
  @description('rbac or accessPolicy: which of the two the vault uses.')
  accessModel: 'rbac' | 'accessPolicy'
  @description('On an access-policy vault: the permissions (for secrets, keys and certificates alike) each principal gets, the same rights as its roles.')
  appPolicy: string[]
  operatorPolicy: string[]
}

@export()
@description('The vault\'s subscription id, lower-case: its own, or the fallback (the deployment\'s subscription).')
func vaultSubscription(v vaultRef, fallback string) string => toLower(v.?subscriptionId ?? fallback)

@export()
@description('A case-insensitive identity for a vault: subscription/resource group/name.')
func vaultKey(v vaultRef, fallback string) string =>
  '${vaultSubscription(v, fallback)}/${toLower(v.resourceGroup)}/${toLower(v.name)}'

@export()
@description('A Managed HSM whose full backups the app starts: it writes them itself, with its own user-assigned identity.')
type hsmRef = {
  @description('The HSM name (the DNS label of https://<name>.managedhsm.azure.net).')
  @minLength(3)
  @maxLength(24)
  name: string

  @description('The HSM\'s resource group.')
  resourceGroup: string

  @description('The HSM\'s subscription; default: this deployment\'s.')
  subscriptionId: string?

  @description('Principal (object) id of the user-assigned identity the HSM writes to storage with (az keyvault update-hsm --mi-user-assigned).')
  identityPrincipalId: string
}

// ---- continuous protection: one definition of the Event Grid subscription, used by the listed
// vaults' topics (eventsTopic.bicep) and by the policy's template for discovered vaults
// (eventsPolicy.bicep), so the two cannot drift apart.

@export()
@description('The name of the system topic the template (or the policy) creates for a vault.')
func eventsTopicName(vaultName string) string => 'kvbackup-${toLower(vaultName)}'

@export()
@description('The name of the event subscription on each vault\'s system topic.')
var eventsSubscriptionName = 'kvbackup-backup-events'

@export()
@description('''The properties of the event subscription that delivers a vault's new-version events to the
events queue and dead-letters what it cannot deliver, both with the system topic's SYSTEM-assigned
identity: behind a storage firewall Event Grid delivers only with that identity, and only when the
account lets trusted Azure services in (learn.microsoft.com/azure/event-grid/handler-storage-queues);
a user-assigned identity is refused there whatever the firewall says.''')
func eventsSubscriptionProperties(accountId string, queueName string, deadLetterContainerName string) object => {
  deliveryWithResourceIdentity: {
    identity: { type: 'SystemAssigned' }
    destination: {
      endpointType: 'StorageQueue'
      properties: {
        resourceId: accountId
        queueName: queueName
        // -1: the message never expires on the queue. The app removes each message it has handled;
        // one it cannot handle goes to the poison queue. An expiring message would be an event lost
        // without a trace after an outage longer than its TTL (the daily run would catch the change,
        // but only as of its own time, not the minute of the event).
        queueMessageTimeToLiveInSeconds: -1
      }
    }
  }
  // A new version of a secret, key or certificate: what continuous protection backs up.
  filter: {
    includedEventTypes: [
      'Microsoft.KeyVault.SecretNewVersionCreated'
      'Microsoft.KeyVault.KeyNewVersionCreated'
      'Microsoft.KeyVault.CertificateNewVersionCreated'
    ]
  }
  eventDeliverySchema: 'EventGridSchema'
  // Event Grid's own maximums (30 attempts over 24 h): a firewall change or a role still
  // propagating is retried for a day before the event is dead-lettered.
  retryPolicy: {
    maxDeliveryAttempts: 30
    eventTimeToLiveInMinutes: 1440
  }
  deadLetterWithResourceIdentity: {
    identity: { type: 'SystemAssigned' }
    deadLetterDestination: {
      endpointType: 'StorageBlob'
      properties: {
        resourceId: accountId
        blobContainerName: deadLetterContainerName
      }
    }
  }
}
