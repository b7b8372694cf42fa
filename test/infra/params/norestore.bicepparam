// Test-only parameter set (npm run infra:check snapshots it into .local/infra/norestore.snapshot.json):
// restore disabled (so no client id is needed even with restoreApi appServiceAuth), private
// endpoints with template-created zones (the behaviour without existing zones).
using '../../../infra/main.bicep'

param environmentName = 'kvb-nores'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreTargets = [
  { name: 'kv-target', resourceGroup: 'rg-target' }
]
param enableRestore = false
param restoreApi = 'appServiceAuth'
param networkMode = 'privateEndpoint'
param alertEmails = ['oncall@example.org']
