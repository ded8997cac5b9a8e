<?php
/**
 * The messages of the sidecar's gRPC contract, as data for Cachicamo_Sync_Protobuf.
 *
 * @package Cachicamo_Sync
 */

/**
 * The schema of every message of proto/cachicamo/sync/v1/sync.proto, plus the two messages of
 * grpc.health.v1 the client uses, and the numbers of their enums.
 *
 * SCHEMA is keyed by the messages' short names (no short name is used twice: the health
 * protocol's messages are HealthCheckRequest and HealthCheckResponse, the status report's part is
 * Health). Each message maps its field names to array( number, type, repeated, message type ):
 * type is string, bool, uint32, uint64, int64, double, enum or message; repeated defaults to
 * false; the message type is given only for message fields. Field numbers are the proto's and
 * must never change; keep this in step with sync.proto (tests/vectors catches a drift).
 */
class Cachicamo_Sync_Messages {

	const TRIGGER_UNSPECIFIED = 0;
	const TRIGGER_MANUAL      = 1;
	const TRIGGER_CRON        = 2;
	const TRIGGER_CLI         = 3;

	const ENGINE_STATE_UNSPECIFIED = 0;
	const ENGINE_STATE_IDLE        = 1;
	const ENGINE_STATE_PLANNING    = 2;
	const ENGINE_STATE_RUNNING     = 3;
	const ENGINE_STATE_PAUSED      = 4;
	const ENGINE_STATE_ERROR       = 5;
	const ENGINE_STATE_STARTING    = 6;
	const ENGINE_STATE_RECOVERING  = 7;

	const RUN_STATUS_UNSPECIFIED           = 0;
	const RUN_STATUS_PLANNING              = 1;
	const RUN_STATUS_RUNNING               = 2;
	const RUN_STATUS_COMPLETED             = 3;
	const RUN_STATUS_COMPLETED_WITH_ERRORS = 4;
	const RUN_STATUS_FAILED                = 5;
	const RUN_STATUS_CANCELLED             = 6;

	const BATCH_STATUS_UNSPECIFIED = 0;
	const BATCH_STATUS_PENDING     = 1;
	const BATCH_STATUS_PROCESSING  = 2;
	const BATCH_STATUS_COMPLETED   = 3;
	const BATCH_STATUS_ERROR       = 4;
	const BATCH_STATUS_SUPERSEDED  = 5;

	// grpc.health.v1.HealthCheckResponse.ServingStatus.
	const HEALTH_UNKNOWN         = 0;
	const HEALTH_SERVING         = 1;
	const HEALTH_NOT_SERVING     = 2;
	const HEALTH_SERVICE_UNKNOWN = 3;

	const SCHEMA = array(
		'Totals'              => array(
			'synced'    => array( 1, 'uint64' ),
			'changed'   => array( 2, 'uint64' ),
			'unchanged' => array( 3, 'uint64' ),
			'errors'    => array( 4, 'uint64' ),
			'not_found' => array( 5, 'uint64' ),
			'conflicts' => array( 6, 'uint64' ),
		),
		'Run'                 => array(
			'id'             => array( 1, 'uint64' ),
			'trigger'        => array( 2, 'enum' ),
			'status'         => array( 3, 'enum' ),
			'total_batches'  => array( 4, 'uint32' ),
			'total_skus'     => array( 5, 'uint64' ),
			'total_products' => array( 6, 'uint64' ),
			'batches_done'   => array( 7, 'uint32' ),
			'batches_failed' => array( 8, 'uint32' ),
			'totals'         => array( 9, 'message', false, 'Totals' ),
			'started_at'     => array( 10, 'int64' ),
			'finished_at'    => array( 11, 'int64' ),
			'duration_ms'    => array( 12, 'uint64' ),
			'error_message'  => array( 13, 'string' ),
		),
		'StartSyncRequest'    => array(
			'trigger' => array( 1, 'enum' ),
		),
		'StartSyncResponse'   => array(
			'run'     => array( 1, 'message', false, 'Run' ),
			'started' => array( 2, 'bool' ),
		),
		'TickRequest'         => array(
			'max_changes' => array( 1, 'uint32' ),
		),
		'TickResponse'        => array(
			'state'                 => array( 1, 'enum' ),
			'current_run'           => array( 2, 'message', false, 'Run' ),
			'started_scheduled_run' => array( 3, 'bool' ),
			'leases_reclaimed'      => array( 4, 'uint32' ),
			'changed_product_ids'   => array( 5, 'uint64', true ),
			'pending_changes'       => array( 6, 'message', true, 'Change' ),
		),
		'GetStatusRequest'    => array(),
		'BatchCounts'         => array(
			'pending'    => array( 1, 'uint32' ),
			'processing' => array( 2, 'uint32' ),
			'completed'  => array( 3, 'uint32' ),
			'error'      => array( 4, 'uint32' ),
		),
		'LeaseHolder'         => array(
			'batch_id'   => array( 1, 'uint64' ),
			'owner'      => array( 2, 'string' ),
			'expires_at' => array( 3, 'int64' ),
		),
		'Health'              => array(
			'database_ok'      => array( 1, 'bool' ),
			'database_message' => array( 2, 'string' ),
			'api_ok'           => array( 3, 'bool' ),
			'api_message'      => array( 4, 'string' ),
		),
		'GetStatusResponse'   => array(
			'state'         => array( 1, 'enum' ),
			'state_since'   => array( 2, 'int64' ),
			'current_run'   => array( 3, 'message', false, 'Run' ),
			'last_run'      => array( 4, 'message', false, 'Run' ),
			'batch_counts'  => array( 5, 'message', false, 'BatchCounts' ),
			'lock_holder'   => array( 6, 'string' ),
			'leases'        => array( 7, 'message', true, 'LeaseHolder' ),
			'health'        => array( 8, 'message', false, 'Health' ),
			'last_error'    => array( 9, 'string' ),
			'paused'        => array( 10, 'bool' ),
			'version'       => array( 11, 'string' ),
			'active_alerts' => array( 12, 'message', true, 'Alert' ),
			'recent_alerts' => array( 13, 'message', true, 'Alert' ),
		),
		'Alert'               => array(
			'id'         => array( 1, 'uint64' ),
			'kind'       => array( 2, 'string' ),
			'message'    => array( 3, 'string' ),
			'raised_at'  => array( 4, 'int64' ),
			'cleared_at' => array( 5, 'int64' ),
		),
		'WatchRunRequest'     => array(
			'run_id' => array( 1, 'uint64' ),
		),
		'RunProgress'         => array(
			'run'             => array( 1, 'message', false, 'Run' ),
			'skus_per_second' => array( 2, 'double' ),
			'eta_ms'          => array( 3, 'uint64' ),
			'finished'        => array( 4, 'bool' ),
		),
		'SyncSkusRequest'     => array(
			'skus' => array( 1, 'string', true ),
		),
		'SkuResult'           => array(
			'sku'        => array( 1, 'string' ),
			'product_id' => array( 2, 'uint64' ),
			'outcome'    => array( 3, 'string' ),
			'message'    => array( 4, 'string' ),
		),
		'SyncSkusResponse'    => array(
			'totals'              => array( 1, 'message', false, 'Totals' ),
			'results'             => array( 2, 'message', true, 'SkuResult' ),
			'changed_product_ids' => array( 3, 'uint64', true ),
		),
		'ListBatchesRequest'  => array(
			'run_id'     => array( 1, 'uint64' ),
			'status'     => array( 2, 'enum' ),
			'page_size'  => array( 3, 'uint32' ),
			'page_token' => array( 4, 'string' ),
		),
		'Batch'               => array(
			'id'            => array( 1, 'uint64' ),
			'run_id'        => array( 2, 'uint64' ),
			'batch_number'  => array( 3, 'uint32' ),
			'total_batches' => array( 4, 'uint32' ),
			'status'        => array( 5, 'enum' ),
			'sku_count'     => array( 6, 'uint32' ),
			'attempts'      => array( 7, 'uint32' ),
			'totals'        => array( 8, 'message', false, 'Totals' ),
			'error_message' => array( 9, 'string' ),
			'lease_owner'   => array( 10, 'string' ),
			'processed_at'  => array( 11, 'int64' ),
		),
		'ListBatchesResponse' => array(
			'batches'         => array( 1, 'message', true, 'Batch' ),
			'next_page_token' => array( 2, 'string' ),
		),
		'RetryFailedRequest'  => array(
			'run_id' => array( 1, 'uint64' ),
		),
		'RetryFailedResponse' => array(
			'batches_requeued' => array( 1, 'uint32' ),
			'run'              => array( 2, 'message', false, 'Run' ),
		),
		'CancelRunRequest'    => array(
			'run_id' => array( 1, 'uint64' ),
		),
		'CancelRunResponse'   => array(
			'run' => array( 1, 'message', false, 'Run' ),
		),
		'PauseRequest'        => array(),
		'ResumeRequest'       => array(),
		'EngineStateResponse' => array(
			'state'  => array( 1, 'enum' ),
			'paused' => array( 2, 'bool' ),
		),
		'ListChangesRequest'  => array(
			'limit'             => array( 1, 'uint32' ),
			'after_id'          => array( 2, 'uint64' ),
			'include_finalized' => array( 3, 'bool' ),
		),
		'Change'              => array(
			'id'               => array( 1, 'uint64' ),
			'product_id'       => array( 2, 'uint64' ),
			'parent_id'        => array( 3, 'uint64' ),
			'run_id'           => array( 4, 'uint64' ),
			'batch_id'         => array( 5, 'uint64' ),
			'old_stock'        => array( 6, 'string' ),
			'new_stock'        => array( 7, 'string' ),
			'old_stock_status' => array( 8, 'string' ),
			'new_stock_status' => array( 9, 'string' ),
			'old_price'        => array( 10, 'string' ),
			'new_price'        => array( 11, 'string' ),
			'changed_at'       => array( 12, 'int64' ),
			'finalized'        => array( 13, 'bool' ),
			'sku'              => array( 14, 'string' ),
		),
		'ListChangesResponse' => array(
			'changes' => array( 1, 'message', true, 'Change' ),
		),
		'AckChangesRequest'   => array(
			'change_ids' => array( 1, 'uint64', true ),
		),
		'AckChangesResponse'  => array(
			'acknowledged' => array( 1, 'uint32' ),
		),
		'GetMetricsRequest'   => array(
			'recent_runs' => array( 1, 'uint32' ),
		),
		'RunSummary'          => array(
			'id'          => array( 1, 'uint64' ),
			'status'      => array( 2, 'enum' ),
			'trigger'     => array( 3, 'enum' ),
			'started_at'  => array( 4, 'int64' ),
			'duration_ms' => array( 5, 'uint64' ),
			'total_skus'  => array( 6, 'uint64' ),
			'totals'      => array( 7, 'message', false, 'Totals' ),
		),
		'GetMetricsResponse'  => array(
			'runs_today'          => array( 1, 'uint32' ),
			'success_rate'        => array( 2, 'double' ),
			'skus_per_hour'       => array( 3, 'double' ),
			'run_duration_avg_ms' => array( 4, 'uint64' ),
			'run_duration_p95_ms' => array( 5, 'uint64' ),
			'api_requests'        => array( 6, 'uint64' ),
			'api_latency_p50_ms'  => array( 7, 'double' ),
			'api_latency_p95_ms'  => array( 8, 'double' ),
			'api_error_rate'      => array( 9, 'double' ),
			'queue_depth'         => array( 10, 'uint32' ),
			'recent_runs'         => array( 11, 'message', true, 'RunSummary' ),
		),
		'HealthCheckRequest'  => array(
			'service' => array( 1, 'string' ),
		),
		'HealthCheckResponse' => array(
			'status' => array( 1, 'enum' ),
		),
	);
}
