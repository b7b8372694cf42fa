param name string
param location string
param tags object

@description('Redundancy. Geo-zone-redundant by default so a regional outage does not take the backups with it.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param skuName string

@allowed(['serviceEndpoint', 'privateEndpoint'])
param networkMode string
param functionSubnetId string
param privateEndpointSubnetId string

@description('Operator IP addresses or CIDR ranges allowed through the firewall (for az / Storage Explorer).')
param ipRules array

@description('Firewall bypass, as networkAcls.bypass takes it: None, or a comma-separated combination of AzureServices, Logging, Metrics. main.bicep adds AzureServices for continuous protection (Event Grid\'s delivery); otherwise None by default: "trusted Microsoft services" do not write these backups, the Function does.')
param bypass string

@description('Managed HSMs whose full backups land here: { resourceId, identityPrincipalId }. The HSM itself writes, so each gets a resource instance rule (not the blanket trusted-services bypass) and its identity the data role on the HSM containers.')
param managedHsms { resourceId: string, identityPrincipalId: string }[] = []

param containerName string
param inventoryTableName string

@description('Continuous protection: the queue Event Grid delivers the vaults\' events to (BACKUP_EVENTS_QUEUE) and the container it dead-letters into; both empty = off.')
param eventsQueueName string
param deadLetterContainerName string

@description('Lifecycle: days after which daily/, weekly/ and manual/ blobs are deleted, and previous versions.')
param dailyRetentionDays int
param weeklyRetentionDays int
param manualRetentionDays int
param previousVersionRetentionDays int

@description('Blob and container soft delete, days.')
param softDeleteDays int

@description('Version-level immutability (WORM) in days; 0 = off. Must stay below the shortest lifecycle age, or lifecycle deletes fail. Account-level: it can only be switched on when the account is created.')
@maxValue(29)
param immutabilityDays int

@description('Lock the account\'s default version-level immutability policy (state Locked). Irreversible: a locked policy can be extended, never shortened or removed. Azure creates the policy Unlocked, so lock it in a later deployment.')
param immutabilityLocked bool

@description('A CanNotDelete management lock on the account.')
param deleteLock bool

@description('privateEndpoint mode: the privatelink zones { blob, queue, table } (storageDns.bicep: created here or the hub\'s).')
param zoneIds { blob: string, queue: string, table: string }

@description('Principal id of the Function App\'s one identity: gets data roles on the container, the queues and the table, nothing on the account.')
param principalId string

@description('Principal (object) id of the operator who runs the kvbackup CLI; empty = none.')
param operatorPrincipalId string

@allowed(['Group', 'User'])
param operatorPrincipalType string

param logAnalyticsWorkspaceId string

var events = !empty(eventsQueueName)
// The events queue's poison queue is the Functions host's own (<queue>-poison): with a role on
// the queue only, the host could not move a message that keeps failing there.
var queueNames = concat(
  ['backup-jobs', 'backup-jobs-poison', 'restore-jobs', 'restore-jobs-poison'],
  events ? [eventsQueueName, '${eventsQueueName}-poison'] : []
)
// The queues an operator's CLI touches (kvbackup doctor probes them; kvbackup events --drain
// works off the events queue); not the poison queues.
var jobQueueNames = concat(['backup-jobs', 'restore-jobs'], events ? [eventsQueueName] : [])
var hasOperator = !empty(operatorPrincipalId)
var tiers = [
  { name: 'daily', days: dailyRetentionDays }
  { name: 'weekly', days: weeklyRetentionDays }
  { name: 'manual', days: manualRetentionDays }
]
// Managed HSMs write their own folder at a container's root, so each tier has an HSM container.
var hsmContainerNames = empty(managedHsms) ? [] : map(tiers, t => '${containerName}-hsm-${t.name}')
// Who may use the HSM containers: the app (reads back and verifies), each HSM's identity (writes), the operator (restores).
var hsmContainerGrants = flatten(map(range(0, length(hsmContainerNames)), i => concat(
  [{ index: i, principalId: principalId, principalType: 'ServicePrincipal' }],
  map(managedHsms, h => { index: i, principalId: h.identityPrincipalId, principalType: 'ServicePrincipal' }),
  hasOperator ? [{ index: i, principalId: operatorPrincipalId, principalType: operatorPrincipalType }] : []
)))
var roles = {
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: networkMode == 'privateEndpoint' && empty(ipRules) ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: bypass
      virtualNetworkRules: networkMode == 'serviceEndpoint' ? [{ id: functionSubnetId, action: 'Allow' }] : []
      ipRules: [for ip in ipRules: { value: ip, action: 'Allow' }]
      // The HSM reaches storage from Microsoft's network, not the Function's subnet: a resource
      // instance rule per HSM admits exactly that HSM.
      resourceAccessRules: [for h in managedHsms: { tenantId: tenant().tenantId, resourceId: h.resourceId }]
    }
    // Account-level version-level immutability (WORM) with a default time-based retention policy
    // that every new blob version inherits. Only this account-level policy has a state a template
    // can set (Unlocked -> Locked); a container-level policy is locked only by a separate
    // POST .../immutabilityPolicies/default/lock call.
    immutableStorageWithVersioning: immutabilityDays > 0
      ? {
          enabled: true
          immutabilityPolicy: {
            immutabilityPeriodSinceCreationInDays: immutabilityDays
            state: immutabilityLocked ? 'Locked' : 'Unlocked'
            allowProtectedAppendWrites: false
          }
        }
      : null
  }
}

// Nobody deletes the backups by deleting the account (or its resource group): a management lock,
// removed on purpose first (docs/deploy.md). Data-plane deletes (lifecycle) are unaffected.
resource lock 'Microsoft.Authorization/locks@2020-05-01' = if (deleteLock) {
  name: 'kvbackup-backups-do-not-delete'
  scope: account
  properties: {
    level: 'CanNotDelete'
    notes: 'kvbackup: the Key Vault backups live here. Remove this lock on purpose before deleting the account.'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: { enabled: true, days: softDeleteDays }
    containerDeleteRetentionPolicy: { enabled: true, days: softDeleteDays }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource hsmContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = [
  for c in hsmContainerNames: {
    parent: blobService
    name: c
    properties: { publicAccess: 'None' }
  }
]

resource hsmContainerRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for g in hsmContainerGrants: {
    name: guid(hsmContainers[g.index].id, g.principalId, roles.blobDataContributor)
    scope: hsmContainers[g.index]
    properties: {
      principalId: g.principalId
      principalType: g.principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataContributor)
    }
  }
]

// Continuous protection: where Event Grid writes the events it could not deliver. The app reads
// them (the dead-letter diagnosis); the operator's CLI too. The system topics' own role on it is
// eventsTopicAccess.bicep's.
resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = if (events) {
  parent: blobService
  // A name ARM can still form when the feature is off (it never deploys then).
  name: events ? deadLetterContainerName : 'unused'
  properties: { publicAccess: 'None' }
}

var deadLetterPrincipals = concat(
  [{ principalId: principalId, principalType: 'ServicePrincipal' }],
  hasOperator ? [{ principalId: operatorPrincipalId, principalType: operatorPrincipalType }] : []
)

resource deadLetterRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for p in (events ? deadLetterPrincipals : []): {
    name: guid(deadLetterContainer.id, p.principalId, roles.blobDataContributor)
    scope: deadLetterContainer
    properties: {
      principalId: p.principalId
      principalType: p.principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataContributor)
    }
  }
]

// Continuous protection's blobs age out like the daily tier: a point-in-time restore reaches back
// as far as the daily runs it starts from (dailyRetentionDays). Dead letters are kept as long:
// they say which changes the events missed in the window the restore points cover (the daily run
// backs those changes up anyway), and older ones speak of restore points that are gone. Both ages
// are at least 30 by default, above immutabilityDays (at most 29), as every lifecycle age must be:
// a delete of a version still under immutability fails.
var eventRules = events
  ? [
      {
        name: 'delete-events'
        prefixMatch: ['${containerName}/events/']
        days: dailyRetentionDays
      }
      {
        name: 'delete-dead-letters'
        prefixMatch: ['${deadLetterContainerName}/']
        days: dailyRetentionDays
      }
    ]
  : []

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: concat(
        map(tiers, tier => {
          name: 'delete-${tier.name}'
          enabled: true
          type: 'Lifecycle'
          definition: {
            // The tier's HSM container ages with the tier's folder of the main container.
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: concat(['${containerName}/${tier.name}/'], empty(managedHsms) ? [] : ['${containerName}-hsm-${tier.name}/'])
            }
            actions: {
              baseBlob: { delete: { daysAfterModificationGreaterThan: tier.days } }
              version: { delete: { daysAfterCreationGreaterThan: previousVersionRetentionDays } }
            }
          }
        }),
        map(eventRules, r => {
          name: r.name
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: r.prefixMatch }
            actions: {
              baseBlob: { delete: { daysAfterModificationGreaterThan: r.days } }
              version: { delete: { daysAfterCreationGreaterThan: previousVersionRetentionDays } }
            }
          }
        })
      )
    }
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = [
  for q in queueNames: {
    parent: queueService
    name: q
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-06-01' = {
  parent: tableService
  name: inventoryTableName
}

// Data roles where the data is: the container, each queue, the table. Never the whole account.
resource containerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, roles.blobDataContributor)
  scope: container
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataContributor)
  }
}

resource queueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (q, i) in queueNames: {
    name: guid(queues[i].id, principalId, roles.queueDataContributor)
    scope: queues[i]
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueDataContributor)
    }
  }
]

resource tableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(table.id, principalId, roles.tableDataContributor)
  scope: table
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.tableDataContributor)
  }
}

// The operator's CLI (kvbackup backup/restore/list/doctor from an operator's machine): the same data
// roles, on the container, the job queues and the table.
resource operatorContainerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasOperator) {
  name: guid(container.id, operatorPrincipalId, roles.blobDataContributor)
  scope: container
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataContributor)
  }
}

resource operatorQueueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (q, i) in queueNames: if (hasOperator && contains(jobQueueNames, q)) {
    name: guid(queues[i].id, operatorPrincipalId, roles.queueDataContributor)
    scope: queues[i]
    properties: {
      principalId: operatorPrincipalId
      principalType: operatorPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueDataContributor)
    }
  }
]

resource operatorTableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasOperator) {
  name: guid(table.id, operatorPrincipalId, roles.tableDataContributor)
  scope: table
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.tableDataContributor)
  }
}

// privateEndpoint mode: blob, queue and table through private endpoints in the VNet's subnet.
module endpoints 'storageEndpoints.bicep' = if (networkMode == 'privateEndpoint') {
  name: 'kvbackup-backup-storage-endpoints'
  params: {
    accountName: account.name
    accountId: account.id
    location: location
    tags: tags
    privateEndpointSubnetId: privateEndpointSubnetId
    zoneIds: zoneIds
  }
}

// 2021-05-01-preview is the newest API version of diagnostic settings; the rule would have the
// only non-preview one, 2016-09-01, which is older and has the old shape (no metric categories).
// So use-recent-api-versions is silenced for this one line only.
#disable-next-line use-recent-api-versions
resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'kvbackup'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

// Continuous protection: the queue's requests too, so that a delivery the account refuses (the
// firewall, a role missing) is seen in StorageQueueLogs whichever topic made it — listed or made by
// the policy — without a setting per topic.
#disable-next-line use-recent-api-versions
resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (events) {
  name: 'kvbackup'
  scope: queueService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'StorageWrite', enabled: true }
    ]
  }
}

output hsmContainers string[] = hsmContainerNames
output id string = account.id
output name string = account.name
output blobServiceUri string = account.properties.primaryEndpoints.blob
output queueServiceUri string = account.properties.primaryEndpoints.queue
output tableServiceUri string = account.properties.primaryEndpoints.table
