// Test-only parameter set (npm run infra:check snapshots it into .local/infra/user.snapshot.json):
// user-assigned identity, private endpoints with existing (hub) privatelink zones and vault private
// endpoints approved by the vaults' owners (manual), HTTP restores off, a drill vault, no delete lock.
using '../../../infra/main.bicep'

param environmentName = 'kvb-ua'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
  { name: 'kv-remote', resourceGroup: 'rg-remote', subscriptionId: '00000000-0000-0000-0000-00000000000b' }
]
param restoreTargets = [
  { name: 'kv-target', resourceGroup: 'rg-target' }
]
param drillVault = { name: 'kv-drill', resourceGroup: 'rg-drill' }
param restoreApi = 'off'
param useUserAssignedIdentity = true
param networkMode = 'privateEndpoint'
param privateDnsZones = {
  blob: '/subscriptions/00000000-0000-0000-0000-0000000000f0/resourceGroups/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net'
  queue: '/subscriptions/00000000-0000-0000-0000-0000000000f0/resourceGroups/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.queue.core.windows.net'
  table: '/subscriptions/00000000-0000-0000-0000-0000000000f0/resourceGroups/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.table.core.windows.net'
  vault: '/subscriptions/00000000-0000-0000-0000-0000000000f0/resourceGroups/rg-hub-dns/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net'
}
param vaultPrivateEndpoints = true
// The vaults' owners approve the endpoints (the deployer does not own the vaults).
param vaultPrivateEndpointApproval = 'manual'
param vnetDnsServers = ['10.0.0.4']
param backupStorageDeleteLock = false
param alertEmails = ['oncall@example.org']
