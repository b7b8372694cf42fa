// privateEndpoint mode with vaultPrivateEndpoints: a private endpoint in the private-endpoints
// subnet for every vault the app reaches (they may be in other resource groups and subscriptions;
// the endpoints live here, next to the VNet). approval auto: the deployment approves (the deployer
// holds Microsoft.KeyVault/vaults/PrivateEndpointConnectionsApproval/action on the vault); manual:
// the connection waits for the vault's owner to approve it.

param location string
param tags object

@description('The vaults, each once: name, resourceGroup, subscriptionId.')
param vaults { name: string, resourceGroup: string, subscriptionId: string }[]

param privateEndpointSubnetId string
param vnetId string

@description('An existing privatelink.vaultcore zone (hub-and-spoke); empty = create one here and link it to the VNet.')
param existingDnsZoneId string

@description('auto: the connection is approved by the deployment (the deployer may approve on the vault). manual: a request the vault\'s owner approves (az network private-endpoint-connection approve), for vaults the deployer does not own.')
@allowed(['auto', 'manual'])
param approval string

// privatelink.vaultcore.azure.net in the public cloud; the sovereign clouds' own suffix otherwise.
var zoneName = 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'
var createZone = empty(existingDnsZoneId)

func connection(v { name: string, resourceGroup: string, subscriptionId: string }) object => {
  name: '${v.name}-vault'
  properties: {
    privateLinkServiceId: resourceId(v.subscriptionId, v.resourceGroup, 'Microsoft.KeyVault/vaults', v.name)
    groupIds: ['vault']
    requestMessage: 'kvbackup (Key Vault backups): list, backup and restore through this private endpoint'
  }
}

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = if (createZone) {
  name: zoneName
  location: 'global'
  tags: tags
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = if (createZone) {
  parent: zone
  name: 'link-vault'
  location: 'global'
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnetId }
  }
}

resource endpoints 'Microsoft.Network/privateEndpoints@2025-05-01' = [
  for v in vaults: {
    name: 'pe-${v.name}-vault'
    location: location
    tags: tags
    properties: {
      subnet: { id: privateEndpointSubnetId }
      privateLinkServiceConnections: approval == 'auto' ? [connection(v)] : []
      manualPrivateLinkServiceConnections: approval == 'manual' ? [connection(v)] : []
    }
  }
]

resource endpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-05-01' = [
  for (v, i) in vaults: {
    parent: endpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [{ name: 'vault', properties: { privateDnsZoneId: createZone ? zone.id : existingDnsZoneId } }]
    }
  }
]
