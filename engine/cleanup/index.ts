export { standardCronError, parseCronExpression, nextCronTime, nextScheduledTime, type CronExpression } from './cron';
export { TTL_LABEL, DEFAULT_TTL_INTERVAL_MS, PROPAGATION_ANNOTATION, parseStrfmtDuration, ttlDeletionTime, ttlLabelWarning, ttlPropagationPolicy } from './ttl';
export {
  CLEANUP_POLICY_KINDS,
  DELETING_POLICY_KINDS,
  isCleanupPolicy,
  isDeletingPolicy,
  cleanupPolicyKinds,
  cleanupPolicySelects,
  cleanupPolicyResult,
  deletingPolicySelects,
  policyExecutionTime,
  checkCleanupPolicyForAdmission,
  checkDeletingPolicyForAdmission,
  cleanupPolicyAdmissionVerdict,
  deletingPolicyAdmissionVerdict,
  type CleanupVerdict,
  type CleanupCheckOptions,
} from './policy';
