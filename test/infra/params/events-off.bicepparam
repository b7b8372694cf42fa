// Test-only parameter set (npm run infra:check snapshots it into .local/infra/events-off.snapshot.json):
// events.bicepparam with continuousProtection off. test/infra/events.test.ts compares the two: the
// switch must add continuous protection and change nothing else.
using '../../../infra/main.bicep'

param environmentName = 'kvb-ev'
param location = 'westeurope'
param vaults = [
  { name: 'kv-app-a', resourceGroup: 'rg-secrets' }
  { name: 'kv-remote', resourceGroup: 'rg-remote', subscriptionId: '00000000-0000-0000-0000-00000000000b' }
  // Already has a system topic (Event Grid allows one per vault): the subscription goes on it.
  { name: 'kv-topic', resourceGroup: 'rg-topic', eventsSystemTopic: 'kv-topic-events' }
]
param discoverySubscriptions = ['00000000-0000-0000-0000-00000000000e']
param discoveryVaultTag = 'backup=true'
param continuousProtection = false
param storageBypass = 'Logging'
param operatorPrincipalId = '99999999-8888-7777-6666-555555555555'
param restoreApi = 'off'
param alertEmails = ['oncall@example.org']
