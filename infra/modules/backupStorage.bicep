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
param vnetId string

@description('Operator IP addresses or CIDR ranges allowed through the firewall (for az / Storage Explorer).')
param ipRules array

@description('Firewall bypass. None by default: "trusted Microsoft services" do not write these backups, the Function does.')
@allowed(['None', 'AzureServices', 'Logging', 'Metrics'])
param bypass string

@description('Optional Managed HSM resource id allowed by a resource instance rule (only when the HSM itself writes a full backup here).')
param managedHsmResourceId string

param containerName string
param inventoryTableName string

@description('Lifecycle: days after which daily/, weekly/ and manual/ blobs are deleted, and previous versions.')
param dailyRetentionDays int
param weeklyRetentionDays int
param manualRetentionDays int
param previousVersionRetentionDays int

@description('Blob and container soft delete, days.')
param softDeleteDays int

@description('Version-level immutability (WORM) in days; 0 = off. Must stay below the shortest lifecycle age, or lifecycle deletes fail.')
@maxValue(29)
param immutabilityDays int

@description('Principal id of the Function App: gets data roles on the container, the queues and the table, nothing on the account.')
param principalId string

param logAnalyticsWorkspaceId string

var services = ['blob', 'queue', 'table']
var queueNames = ['backup-jobs', 'backup-jobs-poison', 'restore-jobs', 'restore-jobs-poison']
var roles = {
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {
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
      resourceAccessRules: empty(managedHsmResourceId) ? [] : [{ tenantId: tenant().tenantId, resourceId: managedHsmResourceId }]
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: { enabled: true, days: softDeleteDays }
    containerDeleteRetentionPolicy: { enabled: true, days: softDeleteDays }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: { enabled: immutabilityDays > 0 }
  }
}

resource immutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2024-01-01' = if (immutabilityDays > 0) {
  parent: container
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityDays
    allowProtectedAppendWrites: false
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2024-01-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        for tier in [
          { name: 'daily', days: dailyRetentionDays }
          { name: 'weekly', days: weeklyRetentionDays }
          { name: 'manual', days: manualRetentionDays }
        ]: {
          name: 'delete-${tier.name}'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['${containerName}/${tier.name}/'] }
            actions: {
              baseBlob: { delete: { daysAfterModificationGreaterThan: tier.days } }
              version: { delete: { daysAfterCreationGreaterThan: previousVersionRetentionDays } }
            }
          }
        }
      ]
    }
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = [
  for q in queueNames: {
    parent: queueService
    name: q
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = {
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

resource dnsZones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for s in services: if (networkMode == 'privateEndpoint') {
    name: 'privatelink.${s}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource dnsLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (s, i) in services: if (networkMode == 'privateEndpoint') {
    parent: dnsZones[i]
    name: 'link-${s}'
    location: 'global'
    properties: {
      registrationEnabled: false
      virtualNetwork: { id: vnetId }
    }
  }
]

resource endpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for (s, i) in services: if (networkMode == 'privateEndpoint') {
    name: 'pe-${name}-${s}'
    location: location
    tags: tags
    properties: {
      subnet: { id: privateEndpointSubnetId }
      privateLinkServiceConnections: [
        {
          name: '${name}-${s}'
          properties: { privateLinkServiceId: account.id, groupIds: [s] }
        }
      ]
    }
  }
]

resource endpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (s, i) in services: if (networkMode == 'privateEndpoint') {
    parent: endpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [{ name: s, properties: { privateDnsZoneId: dnsZones[i].id } }]
    }
  }
]

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

output id string = account.id
output name string = account.name
output blobServiceUri string = account.properties.primaryEndpoints.blob
output queueServiceUri string = account.properties.primaryEndpoints.queue
output tableServiceUri string = account.properties.primaryEndpoints.table
