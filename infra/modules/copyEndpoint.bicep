// The isolated copy over Private Link (networkMode privateEndpoint): a private endpoint to the copy
// account's blob service in the app's private-endpoints subnet. A private endpoint must be in the
// subscription of its virtual network, so it lives here, with the app, and not with the copy's owners;
// they approve it (manual: the app's deployers hold no role on the copy account, which may be in
// another tenant). Its DNS zone group writes the copy account's A record into the app's
// privatelink.blob zone (made by storageDns.bicep, or the hub's), so the copy's host name resolves
// to the endpoint inside the VNet like the backup account's does.

param location string
param tags object

@description('Resource id of the copy storage account (the COPY_ACCOUNT_ID output of infra/copy/main.bicep).')
param copyAccountId string

param privateEndpointSubnetId string

@description('The privatelink.blob zone the app\'s VNet resolves with.')
param blobZoneId string

var accountName = last(split(copyAccountId, '/'))

resource endpoint 'Microsoft.Network/privateEndpoints@2025-05-01' = {
  name: 'pe-${accountName}-copy-blob'
  location: location
  tags: tags
  properties: {
    subnet: { id: privateEndpointSubnetId }
    privateLinkServiceConnections: []
    manualPrivateLinkServiceConnections: [
      {
        name: '${accountName}-blob'
        properties: {
          privateLinkServiceId: copyAccountId
          groupIds: ['blob']
          requestMessage: 'kvbackup isolated copy: the app writes the copy through this endpoint. Approve it (docs/isolated-copy.md).'
        }
      }
    ]
  }
}

resource endpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-05-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [{ name: 'blob', properties: { privateDnsZoneId: blobZoneId } }]
  }
}

output id string = endpoint.id
