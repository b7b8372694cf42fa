param name string
param location string
param tags object

@description('Email addresses that get the alerts.')
param alertEmails array

@description('The event the app emits at the end of every run (src/telemetry/instruments.ts: RunCompletedEvent).')
param runCompletedEvent string

@description('The event the app emits every hour for every vault and Managed HSM it backs up, listed or discovered (src/telemetry/instruments.ts: StatusEvent): the no-success, no-proven-restore and silence alerts read it, so no alert holds a vault list.')
param statusEvent string

@description('Hours without a successful run of a vault before the dead man\'s switch fires.')
param deadManHours int

@description('Create the no-proven-restore alert (a drill vault is configured).')
param drills bool

@description('Days without a proven restore before the alert fires.')
param provenRestoreDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: 'log-${name}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 90
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Only Entra ID (the app's identity, with Monitoring Metrics Publisher) may send telemetry.
    DisableLocalAuth: true
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${name}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'kvbackup'
    enabled: true
    emailReceivers: [
      for (email, i) in alertEmails: {
        name: 'email-${i}'
        emailAddress: email
        useCommonAlertSchema: true
      }
    ]
  }
}

var failedRunsQuery = 'customEvents | where name == "${runCompletedEvent}" | extend status = tostring(customDimensions.status), vault = tostring(customDimensions.vault), runId = tostring(customDimensions.runId), firstFailureCode = tostring(customDimensions.firstFailureCode) | where status in ("failed", "partial", "abandoned") | project timestamp, vault, runId, status, firstFailureCode'

// The newest status of each vault (names are DNS names: compared in lower case), read over the last
// two hours: the app emits one an hour, so one missed hour does not hide a vault.
var latestStatus = 'customEvents | where name == "${statusEvent}" | extend vault = tolower(tostring(customDimensions.vault)) | summarize arg_max(timestamp, *) by vault'

var deadManQuery = '${latestStatus} | extend lastSuccessAt = todatetime(tostring(customDimensions.lastSuccessAt)) | where isnull(lastSuccessAt) or lastSuccessAt < ago(${deadManHours}h) | project vault, kind = tostring(customDimensions.kind), inFleet = tostring(customDimensions.inFleet), lastSuccessAt'

var noProvenRestoreQuery = '${latestStatus} | where tostring(customDimensions.drilled) == "true" | extend lastProvenRestoreAt = todatetime(tostring(customDimensions.lastProvenRestoreAt)) | where isnull(lastProvenRestoreAt) or lastProvenRestoreAt < ago(${provenRestoreDays}d) | project vault, lastProvenRestoreAt'

var silenceQuery = 'customEvents | where name == "${statusEvent}"'

resource failedRuns 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: 'alert-${name}-failed-runs'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: a backup run failed, was partial or was abandoned'
    severity: 2
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: failedRunsQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: [actionGroup.id] }
  }
}

// Every vault and HSM the app backs up, listed or discovered, and every vault gone from the fleet
// in the last 8 days: a status whose last success is older than deadManHours (or that has none).
resource deadMan 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: 'alert-${name}-no-success'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: a vault has had no successful backup in ${deadManHours} h (or a discovery subscription cannot be read)'
    severity: 1
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT2H'
    criteria: {
      allOf: [
        {
          query: deadManQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: [actionGroup.id] }
  }
}

// A backup nobody has restored is a hope: no drill proved a restore of a vault in provenRestoreDays.
// The times are the status's own dimensions, compared with now: the query reads two hours of data,
// within what log search alerts allow.
resource noProvenRestore 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = if (drills) {
  name: 'alert-${name}-no-proven-restore'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: a vault has had no restore proven by a drill in ${provenRestoreDays} days'
    severity: 2
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT2H'
    criteria: {
      allOf: [
        {
          query: noProvenRestoreQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: [actionGroup.id] }
  }
}

// The dead man's switch of the app itself: no status at all for three hours means the app, its
// timers or its telemetry are down — and then no other alert could fire.
resource silence 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: 'alert-${name}-silent'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup is silent: no status from the app in 3 h'
    severity: 1
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT3H'
    criteria: {
      allOf: [
        {
          query: silenceQuery
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: [actionGroup.id] }
  }
}

output workspaceId string = workspace.id
output insightsId string = insights.id
output insightsConnectionString string = insights.properties.ConnectionString
