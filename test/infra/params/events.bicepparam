// Test-only parameter set (npm run infra:check snapshots it into .local/infra/events.snapshot.json):
// continuous protection for listed vaults in two subscriptions (one with a system topic of its own
// already) and for the tagged vaults of a discovery subscription, with an operator group and a
// firewall bypass for logging the deployment must keep. Subscription ids are fake; the snapshot's
// own is ...0000a.
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
param continuousProtection = true
param storageBypass = 'Logging'
param operatorPrincipalId = '99999999-8888-7777-6666-555555555555'
param restoreApi = 'off'
param alertEmails = ['oncall@example.org']
