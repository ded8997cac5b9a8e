<?php
/**
 * `wp cachicamo …`: the operator's commands, each a thin call to the sidecar.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Runs and inspects Cachicamo Sync.
 */
class Cachicamo_Sync_CLI {

	const BATCH_STATUSES = array(
		'pending'    => 1,
		'processing' => 2,
		'completed'  => 3,
		'error'      => 4,
		'superseded' => 5,
	);

	/**
	 * A client, or the command ends with the sentence that says why not.
	 *
	 * @param float $timeout Seconds.
	 * @return Cachicamo_Sync_Client
	 */
	private function client( $timeout = 10.0 ) {
		return Cachicamo_Sync_Sidecar::client( $timeout );
	}

	/**
	 * Runs a call; any failure ends the command with its message and exit code 1. Arguments the
	 * codec refuses (a SKU that is not UTF-8) are the operator's to fix, so they end it too.
	 *
	 * @param callable $call The call.
	 * @return mixed
	 */
	private function attempt( callable $call ) {
		try {
			return $call();
		} catch ( RuntimeException | InvalidArgumentException $e ) {
			WP_CLI::error( $e->getMessage() );
		}
		return null;
	}

	/**
	 * A run as one flat row.
	 *
	 * @param array $run Run message.
	 * @return array
	 */
	private function run_row( array $run ) {
		$view = Cachicamo_Sync_Status::run_view( $run );
		return array(
			'run_id'        => $view['id'],
			'status'        => $view['status'],
			'batches'       => $view['batches_done'] . '/' . $view['total_batches'],
			'skus'          => $view['total_skus'],
			'synced'        => $view['synced'],
			'changed'       => $view['changed'],
			'errors'        => $view['errors'],
			'not_found'     => $view['not_found'],
			'conflicts'     => $view['conflicts'],
			'duration_ms'   => $view['duration_ms'],
			'error_message' => $view['error_message'],
		);
	}

	/**
	 * Starts a full sync (or reports the active one).
	 *
	 * ## OPTIONS
	 *
	 * [--wait]
	 * : Follow the run with a progress bar until it ends.
	 *
	 * [--format=<format>]
	 * : How to print the result.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     wp cachicamo sync --wait
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Flags.
	 */
	public function sync( $args, $assoc_args ) {
		$format   = $assoc_args['format'] ?? 'table';
		$client   = $this->client( 30.0 );
		$response = $this->attempt( fn() => $client->start_sync( 'cli' ) );
		$run      = $response['run'];
		if ( empty( $assoc_args['wait'] ) ) {
			if ( $response['started'] ) {
				WP_CLI::success( sprintf( 'Started run %d (%d batches).', $run['id'], $run['total_batches'] ) );
			} else {
				WP_CLI::log( sprintf( 'Run %d is already running (%d/%d batches).', $run['id'], $run['batches_done'], $run['total_batches'] ) );
			}
			return;
		}
		$bar  = WP_CLI\Utils\make_progress_bar( sprintf( 'Run %d', $run['id'] ), max( 1, (int) $run['total_batches'] ) );
		$done = 0;
		$last = $run;
		$this->attempt(
			function () use ( $client, $run, $bar, &$done, &$last ) {
				$client->watch_run(
					(int) $run['id'],
					function ( $progress ) use ( $bar, &$done, &$last ) {
						$last = $progress['run'];
						for ( ; $done < (int) $last['batches_done']; $done++ ) {
							$bar->tick();
						}
						return ! $progress['finished'];
					},
					3600
				);
			}
		);
		$bar->finish();
		WP_CLI\Utils\format_items( $format, array( $this->run_row( $last ) ), array_keys( $this->run_row( $last ) ) );
		$status = Cachicamo_Sync_Status::run_status_name( $last['status'] );
		if ( in_array( $status, array( 'failed', 'cancelled' ), true ) ) {
			WP_CLI::error( sprintf( 'Run %d %s: %s', $last['id'], $status, $last['error_message'] ) );
		}
		// WP-CLI prints JSON and CSV without a final newline: anything after them breaks the parse.
		if ( 'table' === $format ) {
			WP_CLI::success( sprintf( 'Run %d %s.', $last['id'], str_replace( '_', ' ', $status ) ) );
		}
	}

	/**
	 * Shows the engine state, the current and last run, health and the active alerts' count.
	 *
	 * The state's "since" is in UTC.
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : How to print it.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - yaml
	 * ---
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Flags.
	 */
	public function status( $args, $assoc_args ) {
		$data = Cachicamo_Sync_Status::collect( $this->client() );
		if ( ! $data['ok'] ) {
			WP_CLI::error( $data['message'] );
		}
		$row = array(
			'state'     => $data['paused'] ? 'paused' : $data['state'],
			'since'     => $data['state_since'] > 0 ? gmdate( 'Y-m-d H:i:s', $data['state_since'] ) : '',
			'health'    => $data['health_text'],
			'alerts'    => count( $data['alerts'] ),
			'last_sync' => '' !== $data['last_sync'] ? $data['last_sync'] : 'never',
			'run_id'    => $data['run']['id'] ?? '',
			'run'       => isset( $data['run'] ) ? str_replace( '_', ' ', $data['run']['status'] ) : '',
			'progress'  => isset( $data['run'] ) ? $data['run']['batches_done'] . '/' . $data['run']['total_batches'] : '',
			'synced'    => $data['run']['synced'] ?? '',
			'changed'   => $data['run']['changed'] ?? '',
			'errors'    => $data['run']['errors'] ?? '',
			'not_found' => $data['run']['not_found'] ?? '',
			'conflicts' => $data['run']['conflicts'] ?? '',
		);
		WP_CLI\Utils\format_items( $assoc_args['format'] ?? 'table', array( $row ), array_keys( $row ) );
	}

	/**
	 * Lists the active alerts, or with --all the recent ones, cleared included (times in UTC).
	 *
	 * ## OPTIONS
	 *
	 * [--all]
	 * : Also the alerts that have cleared, newest first.
	 *
	 * [--format=<format>]
	 * : How to print them.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - count
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     wp cachicamo alerts --all
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Flags.
	 */
	public function alerts( $args, $assoc_args ) {
		$client = $this->client();
		$status = $this->attempt( fn() => $client->get_status() );
		Cachicamo_Sync_Alerts::remember( $status );
		$rows = array();
		foreach ( empty( $assoc_args['all'] ) ? $status['active_alerts'] : $status['recent_alerts'] as $alert ) {
			$rows[] = array(
				'id'         => (int) $alert['id'],
				'kind'       => $alert['kind'],
				'state'      => $alert['cleared_at'] > 0 ? 'cleared' : 'active',
				'raised_at'  => gmdate( 'Y-m-d H:i:s', (int) $alert['raised_at'] ),
				'cleared_at' => $alert['cleared_at'] > 0 ? gmdate( 'Y-m-d H:i:s', (int) $alert['cleared_at'] ) : '',
				'message'    => $alert['message'],
			);
		}
		WP_CLI\Utils\format_items( $assoc_args['format'] ?? 'table', $rows, array( 'id', 'kind', 'state', 'raised_at', 'cleared_at', 'message' ) );
	}

	/**
	 * Lists the batches of a run.
	 *
	 * ## OPTIONS
	 *
	 * [--run=<id>]
	 * : The run (default: the active or last one).
	 *
	 * [--status=<status>]
	 * : Only batches with this status.
	 * ---
	 * options:
	 *   - pending
	 *   - processing
	 *   - completed
	 *   - error
	 *   - superseded
	 * ---
	 *
	 * [--format=<format>]
	 * : How to print them.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - count
	 * ---
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Flags.
	 */
	public function batches( $args, $assoc_args ) {
		$status = 0;
		if ( isset( $assoc_args['status'] ) ) {
			if ( ! isset( self::BATCH_STATUSES[ $assoc_args['status'] ] ) ) {
				WP_CLI::error( sprintf( '--status=%s is not one of %s.', $assoc_args['status'], implode( ', ', array_keys( self::BATCH_STATUSES ) ) ) );
			}
			$status = self::BATCH_STATUSES[ $assoc_args['status'] ];
		}
		$client = $this->client();
		$rows   = array();
		$token  = '';
		$names  = array_flip( self::BATCH_STATUSES );
		do {
			$page = $this->attempt( fn() => $client->list_batches( (int) ( $assoc_args['run'] ?? 0 ), $status, 500, $token ) );
			foreach ( $page['batches'] as $batch ) {
				$totals = is_array( $batch['totals'] ) ? $batch['totals'] : array();
				$rows[] = array(
					'batch'     => $batch['batch_number'] . '/' . $batch['total_batches'],
					'status'    => $names[ (int) $batch['status'] ] ?? 'unknown',
					'skus'      => (int) $batch['sku_count'],
					'attempts'  => (int) $batch['attempts'],
					'synced'    => (int) ( $totals['synced'] ?? 0 ),
					'changed'   => (int) ( $totals['changed'] ?? 0 ),
					'errors'    => (int) ( $totals['errors'] ?? 0 ),
					'not_found' => (int) ( $totals['not_found'] ?? 0 ),
					'message'   => (string) $batch['error_message'],
				);
			}
			$token = (string) $page['next_page_token'];
		} while ( '' !== $token );
		WP_CLI\Utils\format_items( $assoc_args['format'] ?? 'table', $rows, array( 'batch', 'status', 'skus', 'attempts', 'synced', 'changed', 'errors', 'not_found', 'message' ) );
	}

	/**
	 * Puts the failed batches of the last run back in the queue.
	 *
	 * [--run=<id>]
	 * : The run (default: the last one).
	 *
	 * @subcommand retry-failed
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Flags.
	 */
	public function retry_failed( $args, $assoc_args ) {
		$client   = $this->client();
		$response = $this->attempt( fn() => $client->retry_failed( (int) ( $assoc_args['run'] ?? 0 ) ) );
		WP_CLI::success( sprintf( 'Requeued %d failed batches of run %d.', $response['batches_requeued'], $response['run']['id'] ?? 0 ) );
	}

	/**
	 * Stops claiming batches until resumed (kept across sidecar restarts).
	 */
	public function pause() {
		$client = $this->client();
		$this->attempt( fn() => $client->pause() );
		WP_CLI::success( 'Paused: no new batches are claimed until `wp cachicamo resume`.' );
	}

	/**
	 * Resumes claiming batches.
	 */
	public function resume() {
		$client = $this->client();
		$this->attempt( fn() => $client->resume() );
		WP_CLI::success( 'Resumed.' );
	}

	/**
	 * Syncs these SKUs now, outside the queue.
	 *
	 * ## OPTIONS
	 *
	 * <sku>...
	 * : SKUs (or WC-<id> aliases).
	 *
	 * [--format=<format>]
	 * : How to print the outcome.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 * ---
	 *
	 * @param array $args       SKUs.
	 * @param array $assoc_args Flags.
	 */
	public function sku( $args, $assoc_args ) {
		$client   = $this->client( 60.0 );
		$response = $this->attempt( fn() => $client->sync_skus( array_map( 'strval', $args ) ) );
		Cachicamo_Sync_Finalizer::finalize_pending( $client );
		$rows = array();
		foreach ( $response['results'] as $result ) {
			$rows[] = array(
				'sku'        => $result['sku'],
				'product_id' => (int) $result['product_id'],
				'outcome'    => $result['outcome'],
				'message'    => $result['message'],
			);
		}
		WP_CLI\Utils\format_items( $assoc_args['format'] ?? 'table', $rows, array( 'sku', 'product_id', 'outcome', 'message' ) );
	}

	/**
	 * Lists recent product changes.
	 *
	 * ## OPTIONS
	 *
	 * [--limit=<n>]
	 * : How many.
	 * ---
	 * default: 20
	 * ---
	 *
	 * [--pending]
	 * : Only changes still waiting for finalize.
	 *
	 * [--format=<format>]
	 * : How to print them.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - count
	 * ---
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Flags.
	 */
	public function changes( $args, $assoc_args ) {
		$limit = (int) ( $assoc_args['limit'] ?? 20 );
		if ( $limit < 1 || $limit > 1000 ) {
			WP_CLI::error( '--limit must be from 1 to 1000.' );
		}
		$client  = $this->client();
		$pending = ! empty( $assoc_args['pending'] );
		$changes = $this->attempt( fn() => $client->list_changes( $limit, 0, ! $pending ) )['changes'];
		$rows    = array();
		foreach ( $changes as $change ) {
			$rows[] = array(
				'product_id' => (int) $change['product_id'],
				'sku'        => $change['sku'],
				'stock'      => Cachicamo_Sync_Admin_Page::arrow( $change['old_stock'], $change['new_stock'] ),
				'status'     => Cachicamo_Sync_Admin_Page::arrow( $change['old_stock_status'], $change['new_stock_status'] ),
				'price'      => Cachicamo_Sync_Admin_Page::arrow( $change['old_price'], $change['new_price'] ),
				'changed_at' => gmdate( 'Y-m-d H:i:s', (int) $change['changed_at'] ),
				'finalized'  => $change['finalized'] ? 'yes' : 'no',
			);
		}
		WP_CLI\Utils\format_items( $assoc_args['format'] ?? 'table', $rows, array( 'product_id', 'sku', 'stock', 'status', 'price', 'changed_at', 'finalized' ) );
	}

	/**
	 * Checks the socket, the sidecar, the database, the credentials and WP-Cron.
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : How to print the checks.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 * ---
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Flags.
	 */
	public function doctor( $args, $assoc_args ) {
		$checks   = array();
		$add      = function ( $check, $ok, $detail ) use ( &$checks ) {
			$checks[] = array(
				'check'  => $check,
				'status' => $ok ? 'ok' : 'fail',
				'detail' => $detail,
			);
		};
		$socket   = Cachicamo_Sync_Settings::socket_path();
		$is_sock  = file_exists( $socket ) && 'socket' === filetype( $socket );
		$add( 'socket', $is_sock && is_writable( $socket ), $is_sock ? ( is_writable( $socket ) ? $socket : "$socket is not writable by this user" ) : "no socket at $socket" );

		$status = null;
		try {
			$client = $this->client( 5.0 );
			$status = $client->get_status();
			$add( 'sidecar', true, sprintf( 'version %s, %s', $status['version'], Cachicamo_Sync_Status::engine_state_name( $status['state'] ) ) );
		} catch ( RuntimeException $e ) {
			$add( 'sidecar', false, $e->getMessage() );
		}
		$health = is_array( $status['health'] ?? null ) ? $status['health'] : array();
		$add( 'database', ! empty( $health['database_ok'] ), $status ? (string) ( $health['database_message'] ?? '' ) : 'unknown: the sidecar is not reachable' );
		$add( 'cachicamo api', ! empty( $health['api_ok'] ), $status ? (string) ( $health['api_message'] ?? '' ) : 'unknown: the sidecar is not reachable' );

		$settings = Cachicamo_Sync_Settings::get();
		$missing  = array();
		if ( '' === $settings['access_token'] ) {
			$missing[] = 'access token';
		}
		if ( '' === $settings['store_uuid'] ) {
			$missing[] = 'store UUID';
		}
		$add( 'credentials', ! $missing, $missing ? 'missing ' . implode( ' and ', $missing ) . ' in WooCommerce → Settings → Integration → Cachicamo App' : 'set' );

		$next = wp_next_scheduled( Cachicamo_Sync_Cron::TICK_HOOK );
		$cron = $next ? sprintf( 'next tick in %d s', max( 0, $next - time() ) ) : 'the minute tick is not scheduled: deactivate and activate the plugin';
		if ( $next && defined( 'DISABLE_WP_CRON' ) && DISABLE_WP_CRON ) {
			$cron .= ' (DISABLE_WP_CRON is set: a system cron must run `wp cron event run --due-now` every minute)';
		}
		$add( 'cron', (bool) $next, $cron );

		$format = $assoc_args['format'] ?? 'table';
		WP_CLI\Utils\format_items( $format, $checks, array( 'check', 'status', 'detail' ) );
		$failed = array_filter( $checks, fn( $c ) => 'ok' !== $c['status'] );
		if ( $failed ) {
			WP_CLI::error( sprintf( '%d of %d checks failed.', count( $failed ), count( $checks ) ) );
		}
		// As in sync: machine-readable output stays parseable; the exit code says it passed.
		if ( 'table' === $format ) {
			WP_CLI::success( 'All checks passed.' );
		}
	}
}
