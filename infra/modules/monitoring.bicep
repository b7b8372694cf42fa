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

@description('Continuous protection: the events queue, its dead-letter container and the name of every vault topic\'s event subscription; empty queue = off (no events alert).')
param eventsQueueName string
param deadLetterContainerName string
param eventsSubscriptionName string

@description('The isolated copy: the event the app emits for each run it copies (KeyVaultBackupCopyCompleted), or empty = no copy configured (no copy alerts).')
param copyCompletedEvent string

@description('Hours after a successful run by which its copy must exist (BACKUP_COPY_MAX_LAG_HOURS).')
param copyMaxLagHours int

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

// The isolated copy. A copy the app gave up on (status failed), with the Azure code that stopped it.
var copyFailedQuery = 'customEvents | where name == "${copyCompletedEvent}" | extend status = tostring(customDimensions.status), vault = tolower(tostring(customDimensions.vault)), runId = tostring(customDimensions.runId), method = tostring(customDimensions.method), code = tostring(customDimensions.code) | where status == "failed" | project timestamp, vault, runId, method, code'

// A copy still behind after a pass (lagSeconds: how long the vault's copy has been missing a
// committed run the backup account has — 0 once its newest run is copied), and a vault whose
// successful run has no copy event at all in copyMaxLagHours. A Managed HSM's runs are not copied:
// the app says so with a "skipped" event, which counts as accounted for. A run of the last hour is
// left out of the second: its copy may still be under way. The window is two days (log search alerts
// take only some sizes: 5 min to 6 h, 1 day, 2 days); the query reads copyMaxLagHours of it.
var copyLagSeconds = copyMaxLagHours * 3600
var copyLaggingQuery = join(
  [
    'let accounted = customEvents | where name == "${copyCompletedEvent}" and timestamp > ago(${copyMaxLagHours}h) | extend status = tostring(customDimensions.status), vault = tolower(tostring(customDimensions.vault)), lagSeconds = todouble(customDimensions.lagSeconds) | where status in ("copied", "skipped");'
    'let late = accounted | where status == "copied" and lagSeconds > ${copyLagSeconds} | summarize lastCopyAt = max(timestamp), maxLagSeconds = max(lagSeconds) by vault | extend reason = "copy more than ${copyMaxLagHours} h behind";'
    'let uncopied = customEvents | where name == "${runCompletedEvent}" and timestamp > ago(${copyMaxLagHours}h) | where tostring(customDimensions.status) == "succeeded" and timestamp < ago(1h) | extend vault = tolower(tostring(customDimensions.vault)) | summarize lastRunAt = max(timestamp) by vault | join kind=leftanti (accounted) on vault | extend reason = "no copy of a successful run in ${copyMaxLagHours} h";'
    'union late, uncopied | project vault, reason, lastRunAt, lastCopyAt, maxLagSeconds'
  ],
  ' '
)

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

// Continuous protection: an event that did not reach the events queue, whichever vault it came from
// (listed or found by the policy), with no vault list — three sources, each naming what failed:
// - AegDeliveryFailureLogs: Event Grid's own delivery failures (the topics the template makes send
//   them here; the policy's topics do not, see eventsPolicy.bicep), this app's subscription only;
// - StorageQueueLogs: a message the backup account refused (the firewall, a role missing or not yet
//   propagated), seen from the account's side, so every topic is covered;
// - StorageBlobLogs: an event written to the dead-letter container (delivery given up).
// isfuzzy: a table that has no rows yet (no failure ever) is not an error; and the rule skips the
// query's validation at creation for the same reason (none of the three may exist on day one).
var eventsFailuresQuery = join(
  [
    'union isfuzzy=true'
    '(AegDeliveryFailureLogs | where EventSubscriptionName =~ "${eventsSubscriptionName}" | project TimeGenerated, failure = "delivery failed", resource = _ResourceId, detail = Message),'
    '(StorageQueueLogs | where OperationName == "PutMessage" and ObjectKey contains "/${eventsQueueName}/" and toint(StatusCode) >= 400 | project TimeGenerated, failure = "delivery refused by the backup account", resource = _ResourceId, detail = strcat(StatusCode, " ", StatusText)),'
    '(StorageBlobLogs | where OperationName == "PutBlob" and ObjectKey contains "/${deadLetterContainerName}/" | project TimeGenerated, failure = "event dead-lettered", resource = _ResourceId, detail = ObjectKey)'
  ],
  ' '
)

resource eventsFailures 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = if (!empty(eventsQueueName)) {
  name: 'alert-${name}-events-not-delivered'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: a Key Vault event was not delivered to the events queue (refused, failed or dead-lettered)'
    severity: 2
    enabled: true
    scopes: [workspace.id]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    skipQueryValidation: true
    criteria: {
      allOf: [
        {
          query: eventsFailuresQuery
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

resource copyFailed 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = if (!empty(copyCompletedEvent)) {
  name: 'alert-${name}-copy-failed'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: copying a run to the isolated copy failed'
    severity: 2
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: copyFailedQuery
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

// The isolated copy's dead man's switch: read over copyMaxLagHours (at most two days, what a log
// search alert allows), every hour.
resource copyLagging 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = if (!empty(copyCompletedEvent)) {
  name: 'alert-${name}-copy-lagging'
  location: location
  tags: tags
  properties: {
    displayName: 'kvbackup: a vault\'s isolated copy is more than ${copyMaxLagHours} h behind its backups'
    severity: 2
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT1H'
    windowSize: 'P2D'
    criteria: {
      allOf: [
        {
          query: copyLaggingQuery
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

output workspaceId string = workspace.id
output insightsId string = insights.id
output insightsConnectionString string = insights.properties.ConnectionString
