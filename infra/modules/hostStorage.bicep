param name string
param location string
param tags object

@description('serviceEndpoint: the account takes identity-only requests from anywhere (shared key off). privateEndpoint: public network access disabled; blob, queue and table reached through private endpoints, like the backup account.')
@allowed(['serviceEndpoint', 'privateEndpoint'])
param networkMode string

param privateEndpointSubnetId string

@description('privateEndpoint mode: the privatelink zones { blob, queue, table }.')
param zoneIds { blob: string, queue: string, table: string }

var private = networkMode == 'privateEndpoint'

// The Functions host's own storage (AzureWebJobsStorage, identity-based) and the deployment
// package container of Flex Consumption. Separate from the backup account. Created before the
// Function App, as the reference Flex Consumption templates do: the site's deployment storage
// must exist when the site is made. Its role assignments follow the app (hostStorageAccess).
resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: private ? 'Disabled' : 'Enabled'
    networkAcls: private ? { defaultAction: 'Deny', bypass: 'None' } : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource deployment 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: 'app-package'
  properties: { publicAccess: 'None' }
}

module endpoints 'storageEndpoints.bicep' = if (private) {
  name: 'kvbackup-host-storage-endpoints'
  params: {
    accountName: account.name
    accountId: account.id
    location: location
    tags: tags
    privateEndpointSubnetId: privateEndpointSubnetId
    zoneIds: zoneIds
  }
}

output name string = account.name
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deployment.name}'
