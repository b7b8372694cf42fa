// privateEndpoint mode: one private endpoint per storage service (blob, queue, table) of an
// account, in the private-endpoints subnet, registered in the service's privatelink zone.

param accountName string
param accountId string
param location string
param tags object
param privateEndpointSubnetId string

@description('The privatelink zone of each service: { blob, queue, table } resource ids.')
param zoneIds { blob: string, queue: string, table: string }

var services = ['blob', 'queue', 'table']

resource endpoints 'Microsoft.Network/privateEndpoints@2025-05-01' = [
  for s in services: {
    name: 'pe-${accountName}-${s}'
    location: location
    tags: tags
    properties: {
      subnet: { id: privateEndpointSubnetId }
      privateLinkServiceConnections: [
        {
          name: '${accountName}-${s}'
          properties: { privateLinkServiceId: accountId, groupIds: [s] }
        }
      ]
    }
  }
]

resource endpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-05-01' = [
  for (s, i) in services: {
    parent: endpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [{ name: s, properties: { privateDnsZoneId: zoneIds[s] } }]
    }
  }
]
