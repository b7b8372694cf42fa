// Test-only parameter set for infra/copy/main.bicep that must fail to evaluate: a lifecycle rule that
// would delete blobs while they are still immutable.
using '../../../infra/copy/main.bicep'

param appPrincipalId = '7a7a7a7a-0000-4000-8000-0000000000a1'
param appTenantId = '00000000-0000-0000-0000-0000000000ff'
param networkMode = 'privateEndpoint'
param immutabilityDays = 30
param retentionDays = 20
