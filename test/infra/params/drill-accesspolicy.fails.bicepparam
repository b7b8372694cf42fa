// Test-only parameter set that must NOT deploy: a drill scratch vault on access policies (the drill
// role deletes and purges; it must be RBAC, scoped to that vault only).
using '../../../infra/main.bicep'

param environmentName = 'kvb-fail'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
]
param restoreApi = 'off'
param drillVault = { name: 'kv-drill', resourceGroup: 'rg-drill', accessModel: 'accessPolicy' }
param alertEmails = ['oncall@example.org']
