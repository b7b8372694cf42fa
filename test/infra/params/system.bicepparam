// Test-only parameter set (npm run infra:check snapshots it into .local/infra/system.snapshot.json):
// system-assigned identity, service endpoints, vaults across resource groups and subscriptions,
// restore through App Service authentication, drill vault, discovery, an operator group, and a
// locked immutability policy. Subscription ids are fake; the snapshot's own is ...0000a.
using '../../../infra/main.bicep'

param environmentName = 'kvb-sys'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
  { name: 'kv-app-b', resourceGroup: 'rg-other-secrets' }
  { name: 'kv-remote', resourceGroup: 'rg-remote', subscriptionId: '00000000-0000-0000-0000-00000000000B' }
]
param restoreTargets = [
  { name: 'kv-target', resourceGroup: 'rg-target', subscriptionId: '00000000-0000-0000-0000-00000000000c' }
  // Also a backup vault: granted once.
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'appServiceAuth'
param restoreAppClientId = '11111111-2222-3333-4444-555555555555'
param drillVault = { name: 'kv-drill', resourceGroup: 'rg-drill', subscriptionId: '00000000-0000-0000-0000-00000000000d' }
param discoverySubscriptions = ['00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-00000000000e']
param operatorPrincipalId = '99999999-8888-7777-6666-555555555555'
param operatorPrincipalType = 'Group'
param networkMode = 'serviceEndpoint'
param immutabilityDays = 14
param immutabilityLocked = true
param useUserAssignedIdentity = false
param alertEmails = ['oncall@example.org']
