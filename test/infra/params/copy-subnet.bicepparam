// Test-only parameter set for infra/copy/main.bicep (npm run infra:check snapshots it, resource group
// rg-kvbackup-copy, into .local/infra/copy-subnet.snapshot.json): the copy in another tenant, the
// app's Function subnet (in its own subscription) admitted by a virtual network rule, the principal
// being the app registration's service principal there; longer retention, change feed on.
using '../../../infra/copy/main.bicep'

param location = 'westeurope'
param accountName = 'stkvbcopysubnet'
param appPrincipalId = '7b7b7b7b-0000-4000-8000-0000000000b2'
param appTenantId = '11111111-0000-4000-8000-000000000077'
param networkMode = 'virtualNetworkRule'
param functionSubnetId = '/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg-kvb-sys/providers/Microsoft.Network/virtualNetworks/vnet-kvb-sys/subnets/function'
param immutabilityDays = 60
param retentionDays = 120
param softDeleteDays = 30
param changeFeed = true
param roleNameSuffix = 'contoso-copy'
