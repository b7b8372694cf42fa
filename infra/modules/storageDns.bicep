// privateEndpoint mode: the privatelink zones of blob, queue and table, shared by both storage
// accounts' private endpoints (the backup account and the Functions host's). A zone given
// (hub-and-spoke) is used as is; one left out is created here and linked to the VNet.

param tags object
param vnetId string

@description('Existing zones: { blob, queue, table }, each a resource id or \'\'.')
param existingDnsZoneIds { blob: string, queue: string, table: string }

var services = ['blob', 'queue', 'table']

resource dnsZones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for s in services: if (empty(existingDnsZoneIds[s])) {
    name: 'privatelink.${s}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource dnsLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (s, i) in services: if (empty(existingDnsZoneIds[s])) {
    parent: dnsZones[i]
    name: 'link-${s}'
    location: 'global'
    properties: {
      registrationEnabled: false
      virtualNetwork: { id: vnetId }
    }
  }
]

@description('The zone of each service: { blob, queue, table } resource ids.')
output zoneIds { blob: string, queue: string, table: string } = {
  blob: empty(existingDnsZoneIds.blob) ? dnsZones[0].id : existingDnsZoneIds.blob
  queue: empty(existingDnsZoneIds.queue) ? dnsZones[1].id : existingDnsZoneIds.queue
  table: empty(existingDnsZoneIds.table) ? dnsZones[2].id : existingDnsZoneIds.table
}
