// Test-only parameter set (npm run infra:check snapshots it into .local/infra/accesspolicy.snapshot.json):
// a backup vault and a restore target still on access policies beside an RBAC vault, an operator
// group, vault private endpoints approved by the deployment (auto).
using '../../../infra/main.bicep'

param environmentName = 'kvb-ap'
param location = 'westeurope'
param vaults = [
  { name: 'kv-policies', resourceGroup: 'rg-old', accessModel: 'accessPolicy' }
  { name: 'kv-rbac', resourceGroup: 'rg-new' }
]
param restoreTargets = [
  { name: 'kv-policies-dr', resourceGroup: 'rg-old', accessModel: 'accessPolicy' }
]
param restoreApi = 'off'
param operatorPrincipalId = '99999999-8888-7777-6666-555555555555'
param vaultPrivateEndpoints = true
param alertEmails = ['oncall@example.org']
