// Test-only parameter set for infra/copy/main.bicep (npm run infra:check snapshots it, resource group
// rg-kvbackup-copy, into .local/infra/copy-endpoint.snapshot.json): the copy in the app's tenant
// (the snapshot's fake tenant ...00ff), reached through the private endpoint the app's deployment
// makes; the defaults otherwise.
using '../../../infra/copy/main.bicep'

param location = 'westeurope'
param accountName = 'stkvbcopyendpoint'
param appPrincipalId = '7a7a7a7a-0000-4000-8000-0000000000a1'
param appTenantId = '00000000-0000-0000-0000-0000000000FF'
param networkMode = 'privateEndpoint'
