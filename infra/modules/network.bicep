param name string
param location string
param tags object

@description('Address space of the VNet.')
param addressPrefix string

@description('Subnet for the Function App\'s VNet integration (Flex Consumption: delegated to Microsoft.App/environments, /27 or larger).')
param functionSubnetPrefix string

@description('Subnet for private endpoints (used when networkMode is privateEndpoint).')
param privateEndpointSubnetPrefix string

@allowed(['serviceEndpoint', 'privateEndpoint'])
param networkMode string

@description('Custom DNS servers for the VNet (hub-and-spoke: the hub\'s DNS resolver, which resolves the hub\'s privatelink zones). Empty: Azure-provided DNS.')
param dnsServers string[]

resource vnet 'Microsoft.Network/virtualNetworks@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    dhcpOptions: empty(dnsServers) ? null : { dnsServers: dnsServers }
    subnets: [
      {
        name: 'function'
        properties: {
          addressPrefix: functionSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
          // Service endpoints let the storage and vault firewalls allow this subnet by a network rule.
          serviceEndpoints: networkMode == 'serviceEndpoint'
            ? [
                { service: 'Microsoft.Storage' }
                { service: 'Microsoft.KeyVault' }
              ]
            : []
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output vnetId string = vnet.id
output functionSubnetId string = vnet.properties.subnets[0].id
output privateEndpointSubnetId string = vnet.properties.subnets[1].id
