<?php
/**
 * A gRPC client for the sidecar, over its Unix socket, with nothing but PHP's curl.
 *
 * @package Cachicamo_Sync
 */

/**
 * Calls the sidecar's cachicamo.sync.v1.SyncService (and grpc.health.v1.Health).
 *
 * Requests and responses are arrays in the format of Cachicamo_Sync_Protobuf. Every call opens
 * its own connection: libcurl 7.88 (Debian 12) breaks reused HTTP/2 connections with "Error in
 * the HTTP2 framing layer", and a new connection on a local socket costs well under a
 * millisecond.
 *
 * Errors: Cachicamo_Sync_Sidecar_Unavailable when there was no gRPC answer (the sidecar is down,
 * unreachable, too slow or went away), Cachicamo_Sync_Rpc_Error when the sidecar answered with an
 * error, UnexpectedValueException for an answer that cannot be decoded, and
 * InvalidArgumentException for a request that does not fit its message.
 */
class Cachicamo_Sync_Client {

	const SERVICE = 'cachicamo.sync.v1.SyncService';

	// Connecting to a local socket takes microseconds; a slow connect means a stuck sidecar.
	const CONNECT_TIMEOUT_MS = 1000;

	// sun_path holds 108 bytes including the terminating NUL.
	const MAX_SOCKET_PATH_BYTES = 107;

	const TRIGGERS = array(
		'manual' => Cachicamo_Sync_Messages::TRIGGER_MANUAL,
		'cron'   => Cachicamo_Sync_Messages::TRIGGER_CRON,
		'cli'    => Cachicamo_Sync_Messages::TRIGGER_CLI,
	);

	/**
	 * The sidecar's socket.
	 *
	 * @var string
	 */
	private $socket_path;

	/**
	 * Longest wait for a unary call, in seconds.
	 *
	 * @var float
	 */
	private $timeout_seconds;

	/**
	 * The codec for the contract's messages.
	 *
	 * @var Cachicamo_Sync_Protobuf
	 */
	private $codec;

	/**
	 * Builds a client; nothing is opened until the first call.
	 *
	 * @param string $socket_path     The sidecar's Unix socket.
	 * @param float  $timeout_seconds Longest wait for a unary call.
	 */
	public function __construct( string $socket_path, float $timeout_seconds = 5.0 ) {
		$this->socket_path     = $socket_path;
		$this->timeout_seconds = $timeout_seconds;
		$this->codec           = new Cachicamo_Sync_Protobuf( Cachicamo_Sync_Messages::SCHEMA );
	}

	/**
	 * Makes a unary call.
	 *
	 * @param string $method        A SyncService method (GetStatus), or package.Service/Method.
	 * @param array  $request       The request message.
	 * @param string $request_type  Its type in Cachicamo_Sync_Messages::SCHEMA.
	 * @param string $response_type The response's type.
	 * @return array The decoded response.
	 * @throws Cachicamo_Sync_Sidecar_Unavailable When there was no gRPC answer.
	 * @throws Cachicamo_Sync_Rpc_Error When the sidecar answered with an error.
	 */
	public function call( string $method, array $request, string $request_type, string $response_type ): array {
		$messages = array();
		$this->transfer(
			$method,
			$this->codec->encode( $request_type, $request ),
			$this->timeout_seconds,
			function ( string $message ) use ( &$messages ) {
				$messages[] = $message;
				return true;
			}
		);
		if ( 1 !== count( $messages ) ) {
			throw new Cachicamo_Sync_Rpc_Error( sprintf( 'The Cachicamo Sync sidecar answered %s with %d messages instead of one.', $method, count( $messages ) ), Cachicamo_Sync_Rpc_Error::INTERNAL );
		}
		return $this->codec->decode( $response_type, $messages[0] );
	}

	/**
	 * Makes a server-streaming call, handing each message to a callback as it arrives.
	 *
	 * @param string   $method          A SyncService method (WatchRun), or package.Service/Method.
	 * @param array    $request         The request message.
	 * @param string   $request_type    Its type in Cachicamo_Sync_Messages::SCHEMA.
	 * @param string   $response_type   The streamed messages' type.
	 * @param callable $on_message      Gets each decoded message; returning false ends the call.
	 * @param float    $timeout_seconds Longest wait for the whole stream.
	 * @throws Cachicamo_Sync_Sidecar_Unavailable When there was no gRPC answer.
	 * @throws Cachicamo_Sync_Rpc_Error When the sidecar answered, or ended the stream, with an error.
	 */
	public function stream( string $method, array $request, string $request_type, string $response_type, callable $on_message, float $timeout_seconds = 600.0 ): void {
		$this->transfer(
			$method,
			$this->codec->encode( $request_type, $request ),
			$timeout_seconds,
			function ( string $message ) use ( $response_type, $on_message ) {
				return false !== $on_message( $this->codec->decode( $response_type, $message ) );
			}
		);
	}

	/**
	 * Starts a full sync, or gets the active run.
	 *
	 * @param string $trigger manual, cron or cli.
	 * @return array A StartSyncResponse: run, and started (false when the active run was returned).
	 * @throws InvalidArgumentException For another trigger.
	 */
	public function start_sync( string $trigger ): array {
		if ( ! isset( self::TRIGGERS[ $trigger ] ) ) {
			throw new InvalidArgumentException( sprintf( 'The trigger must be manual, cron or cli, not %s.', $trigger ) );
		}
		return $this->call( 'StartSync', array( 'trigger' => self::TRIGGERS[ $trigger ] ), 'StartSyncRequest', 'StartSyncResponse' );
	}

	/**
	 * WP-Cron's heartbeat: starts a due scheduled run, reclaims leases, returns pending changes.
	 *
	 * @param int $max_changes Most pending changes to return (at most 1000).
	 * @return array A TickResponse.
	 */
	public function tick( int $max_changes = 200 ): array {
		return $this->call( 'Tick', array( 'max_changes' => $max_changes ), 'TickRequest', 'TickResponse' );
	}

	/**
	 * The engine's state, the current and last run, leases, health and alerts.
	 *
	 * @return array A GetStatusResponse.
	 */
	public function get_status(): array {
		return $this->call( 'GetStatus', array(), 'GetStatusRequest', 'GetStatusResponse' );
	}

	/**
	 * Follows a run's progress until it ends.
	 *
	 * @param int      $run_id          The run, or 0 for the active (else the latest) one.
	 * @param callable $on_progress     Gets each RunProgress; returning false stops watching.
	 * @param float    $timeout_seconds Longest wait for the whole run.
	 */
	public function watch_run( int $run_id, callable $on_progress, float $timeout_seconds = 600.0 ): void {
		$this->stream( 'WatchRun', array( 'run_id' => $run_id ), 'WatchRunRequest', 'RunProgress', $on_progress, $timeout_seconds );
	}

	/**
	 * Fetches and applies a few SKUs now, outside the queue.
	 *
	 * @param string[] $skus The SKUs.
	 * @return array A SyncSkusResponse: totals, results per SKU, changed_product_ids.
	 */
	public function sync_skus( array $skus ): array {
		return $this->call( 'SyncSkus', array( 'skus' => array_values( $skus ) ), 'SyncSkusRequest', 'SyncSkusResponse' );
	}

	/**
	 * One page of a run's batches.
	 *
	 * @param int    $run_id     The run, or 0 for the active (else the latest) one.
	 * @param int    $status     A Cachicamo_Sync_Messages::BATCH_STATUS_*, or 0 for all.
	 * @param int    $page_size  Batches per page (at most 500).
	 * @param string $page_token The previous page's next_page_token, or '' for the first page.
	 * @return array A ListBatchesResponse: batches, next_page_token ('' on the last page).
	 */
	public function list_batches( int $run_id = 0, int $status = 0, int $page_size = 50, string $page_token = '' ): array {
		return $this->call(
			'ListBatches',
			array(
				'run_id'     => $run_id,
				'status'     => $status,
				'page_size'  => $page_size,
				'page_token' => $page_token,
			),
			'ListBatchesRequest',
			'ListBatchesResponse'
		);
	}

	/**
	 * Puts a run's failed batches back in the queue.
	 *
	 * @param int $run_id The run, or 0 for the active (else the latest) one.
	 * @return array A RetryFailedResponse: batches_requeued, run.
	 */
	public function retry_failed( int $run_id = 0 ): array {
		return $this->call( 'RetryFailed', array( 'run_id' => $run_id ), 'RetryFailedRequest', 'RetryFailedResponse' );
	}

	/**
	 * Cancels the active run.
	 *
	 * @param int $run_id The run, or 0 for the active one.
	 * @return array A CancelRunResponse: run.
	 */
	public function cancel_run( int $run_id = 0 ): array {
		return $this->call( 'CancelRun', array( 'run_id' => $run_id ), 'CancelRunRequest', 'CancelRunResponse' );
	}

	/**
	 * Stops claiming batches on every daemon of this store, until resume().
	 *
	 * @return array An EngineStateResponse: state, paused.
	 */
	public function pause(): array {
		return $this->call( 'Pause', array(), 'PauseRequest', 'EngineStateResponse' );
	}

	/**
	 * Claims batches again after pause().
	 *
	 * @return array An EngineStateResponse: state, paused.
	 */
	public function resume(): array {
		return $this->call( 'Resume', array(), 'ResumeRequest', 'EngineStateResponse' );
	}

	/**
	 * Changed products waiting for the plugin's finalize step (or all recent ones).
	 *
	 * @param int  $limit             Most changes to return (at most 1000).
	 * @param int  $after_id          Only changes after this change id.
	 * @param bool $include_finalized Also the changes already acknowledged.
	 * @return array A ListChangesResponse: changes.
	 */
	public function list_changes( int $limit = 100, int $after_id = 0, bool $include_finalized = false ): array {
		return $this->call(
			'ListChanges',
			array(
				'limit'             => $limit,
				'after_id'          => $after_id,
				'include_finalized' => $include_finalized,
			),
			'ListChangesRequest',
			'ListChangesResponse'
		);
	}

	/**
	 * Acknowledges finalized changes.
	 *
	 * @param int[] $ids Change ids (at most 10000).
	 * @return array An AckChangesResponse: acknowledged.
	 */
	public function ack_changes( array $ids ): array {
		return $this->call( 'AckChanges', array( 'change_ids' => array_values( $ids ) ), 'AckChangesRequest', 'AckChangesResponse' );
	}

	/**
	 * Figures over recent runs and Cachicamo calls, with the recent runs for a chart.
	 *
	 * @param int $recent_runs How many recent runs to summarise (1 to 500).
	 * @return array A GetMetricsResponse: runs_today, success_rate, skus_per_hour, durations,
	 *               API figures, queue_depth and recent_runs (oldest first).
	 */
	public function get_metrics( int $recent_runs = 30 ): array {
		return $this->call( 'GetMetrics', array( 'recent_runs' => $recent_runs ), 'GetMetricsRequest', 'GetMetricsResponse' );
	}

	/**
	 * Whether the sidecar says it is serving (grpc.health.v1).
	 *
	 * @return bool
	 * @throws Cachicamo_Sync_Sidecar_Unavailable When it cannot be reached, with the reason.
	 */
	public function health(): bool {
		$response = $this->call( 'grpc.health.v1.Health/Check', array( 'service' => '' ), 'HealthCheckRequest', 'HealthCheckResponse' );
		return Cachicamo_Sync_Messages::HEALTH_SERVING === $response['status'];
	}

	/**
	 * Sends one gRPC request and hands each response message to $on_message as it arrives.
	 *
	 * @param string   $method          A SyncService method, or package.Service/Method.
	 * @param string   $request         The encoded request.
	 * @param float    $timeout_seconds Longest wait for the whole call.
	 * @param callable $on_message      Gets each encoded message; returning false ends the call.
	 * @throws Cachicamo_Sync_Sidecar_Unavailable When there was no gRPC answer.
	 * @throws Cachicamo_Sync_Rpc_Error When the sidecar answered with an error.
	 */
	private function transfer( string $method, string $request, float $timeout_seconds, callable $on_message ): void {
		if ( ! function_exists( 'curl_init' ) ) {
			throw new Cachicamo_Sync_Sidecar_Unavailable( "PHP's curl extension is missing: install it (php-curl) so the plugin can talk to the Cachicamo Sync sidecar." );
		}
		// Without a path curl would call localhost:80 over TCP: the web server, not the sidecar.
		if ( '' === $this->socket_path || false !== strpos( $this->socket_path, "\0" ) ) {
			throw new Cachicamo_Sync_Sidecar_Unavailable( "The Cachicamo Sync sidecar's socket path is empty or invalid: set it in the plugin's settings." );
		}
		// curl would only say it could not resolve the host.
		if ( strlen( $this->socket_path ) > self::MAX_SOCKET_PATH_BYTES ) {
			throw new Cachicamo_Sync_Sidecar_Unavailable( sprintf( 'The socket path %s is %d bytes long, but a Unix socket path may have at most %d: choose a shorter one for the sidecar (--socket) and the plugin.', $this->socket_path, strlen( $this->socket_path ), self::MAX_SOCKET_PATH_BYTES ) );
		}
		$handle = curl_init();
		if ( false === $handle ) {
			throw new Cachicamo_Sync_Sidecar_Unavailable( "PHP's curl could not start a request to the Cachicamo Sync sidecar." );
		}
		$path       = false === strpos( $method, '/' ) ? self::SERVICE . '/' . $method : $method;
		$timeout_ms = max( 1, (int) round( $timeout_seconds * 1000 ) );
		$buffer     = '';
		$status     = null;
		$message    = '';
		$stopped    = false;
		$failure    = null;
		$options    = array(
			CURLOPT_UNIX_SOCKET_PATH  => $this->socket_path,
			CURLOPT_URL               => 'http://localhost/' . $path,
			CURLOPT_HTTP_VERSION      => CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE,
			CURLOPT_POST              => true,
			CURLOPT_POSTFIELDS        => "\0" . pack( 'N', strlen( $request ) ) . $request,
			CURLOPT_HTTPHEADER        => array( 'content-type: application/grpc', 'te: trailers' ),
			CURLOPT_FORBID_REUSE      => true,
			CURLOPT_FRESH_CONNECT     => true,
			CURLOPT_TIMEOUT_MS        => $timeout_ms,
			CURLOPT_CONNECTTIMEOUT_MS => min( self::CONNECT_TIMEOUT_MS, $timeout_ms ),
			// Headers and trailers both come through here; a failed call has only headers.
			CURLOPT_HEADERFUNCTION    => function ( $handle, string $line ) use ( &$status, &$message ): int {
				$parts = explode( ':', $line, 2 );
				if ( 2 === count( $parts ) ) {
					$name  = strtolower( trim( $parts[0] ) );
					$value = trim( $parts[1] );
					if ( 'grpc-status' === $name && ctype_digit( $value ) ) {
						$status = (int) $value;
					} elseif ( 'grpc-message' === $name ) {
						$message = rawurldecode( $value );
					}
				}
				return strlen( $line );
			},
			// Chunks do not follow message boundaries: a message may span chunks or share one.
			CURLOPT_WRITEFUNCTION     => function ( $handle, string $chunk ) use ( &$buffer, &$stopped, &$failure, $on_message ): int {
				$buffer .= $chunk;
				try {
					while ( strlen( $buffer ) >= 5 ) {
						$length = unpack( 'N', $buffer, 1 )[1];
						if ( strlen( $buffer ) < 5 + $length ) {
							break;
						}
						if ( "\0" !== $buffer[0] ) {
							throw new UnexpectedValueException( 'The Cachicamo Sync sidecar sent a compressed message, which the plugin never asks for.' );
						}
						$payload = substr( $buffer, 5, $length );
						$buffer  = substr( $buffer, 5 + $length );
						if ( ! $on_message( $payload ) ) {
							$stopped = true;
							return 0;
						}
					}
				} catch ( Throwable $e ) {
					// Thrown out of a curl callback it would surface as a bare write error.
					$failure = $e;
					return 0;
				}
				return strlen( $chunk );
			},
		);
		if ( ! curl_setopt_array( $handle, $options ) ) {
			throw new Cachicamo_Sync_Sidecar_Unavailable( sprintf( "PHP's curl cannot reach the Cachicamo Sync sidecar: it needs libcurl 7.49 or later with HTTP/2 support (%s).", curl_error( $handle ) ) );
		}
		curl_exec( $handle );
		if ( null !== $failure ) {
			throw $failure;
		}
		if ( $stopped ) {
			return;
		}
		// A status ends the answer, so it stands even if curl reports an error after it (tonic resets
		// a stream it answered without reading the whole request).
		if ( null !== $status ) {
			if ( 0 !== $status ) {
				throw new Cachicamo_Sync_Rpc_Error( '' !== $message ? $message : $this->unexplained( $path, $status ), $status );
			}
			if ( '' !== $buffer ) {
				throw new UnexpectedValueException( 'The Cachicamo Sync sidecar ended its answer in the middle of a message.' );
			}
			return;
		}
		throw $this->unavailable( $handle, $timeout_seconds );
	}

	/**
	 * Why a call got no gRPC answer, in one sentence a shop owner can act on.
	 *
	 * @param CurlHandle $handle          The finished transfer.
	 * @param float      $timeout_seconds Its timeout.
	 * @return Cachicamo_Sync_Sidecar_Unavailable
	 */
	private function unavailable( CurlHandle $handle, float $timeout_seconds ): Cachicamo_Sync_Sidecar_Unavailable {
		$errno = curl_errno( $handle );
		$start = 'Start it with `systemctl start cachicamo-sidecar` (or `cachicamo-sidecar serve`).';
		switch ( $errno ) {
			case 0:
				$code = (int) curl_getinfo( $handle, CURLINFO_RESPONSE_CODE );
				if ( 200 !== $code ) {
					return new Cachicamo_Sync_Sidecar_Unavailable( sprintf( 'Something other than the Cachicamo Sync sidecar answers on %s (HTTP status %d): check the socket path.', $this->socket_path, $code ) );
				}
				// Seen when the sidecar shuts down gracefully in the middle of a stream.
				return new Cachicamo_Sync_Sidecar_Unavailable( 'The Cachicamo Sync sidecar ended the call without a result; it may be restarting, so try again in a moment.' );
			case CURLE_COULDNT_CONNECT:
				switch ( (int) curl_getinfo( $handle, CURLINFO_OS_ERRNO ) ) {
					case 2:
						return new Cachicamo_Sync_Sidecar_Unavailable( sprintf( 'The Cachicamo Sync sidecar is not running: there is no socket at %s. %s', $this->socket_path, $start ), $errno );
					case 111:
						return new Cachicamo_Sync_Sidecar_Unavailable( sprintf( 'The Cachicamo Sync sidecar is not running (nothing answers on %s). %s', $this->socket_path, $start ), $errno );
					case 13:
						return new Cachicamo_Sync_Sidecar_Unavailable( sprintf( "The web server's user may not open %s: add it to the socket's group (cachicamo-sidecar serve --socket-group www-data).", $this->socket_path ), $errno );
				}
				break;
			case CURLE_OPERATION_TIMEDOUT:
				return new Cachicamo_Sync_Sidecar_Unavailable( sprintf( 'The Cachicamo Sync sidecar did not answer within %s.', $this->duration( $timeout_seconds ) ), $errno );
			case CURLE_PARTIAL_FILE:
			case CURLE_GOT_NOTHING:
			case CURLE_RECV_ERROR:
				return new Cachicamo_Sync_Sidecar_Unavailable( sprintf( 'The Cachicamo Sync sidecar stopped in the middle of the call (%s); check that it is running with `systemctl status cachicamo-sidecar`.', curl_error( $handle ) ), $errno );
		}
		return new Cachicamo_Sync_Sidecar_Unavailable( sprintf( 'Could not talk to the Cachicamo Sync sidecar on %s: %s (curl error %d).', $this->socket_path, curl_error( $handle ), $errno ), $errno );
	}

	/**
	 * A sentence for an error status the sidecar sent without a message.
	 *
	 * @param string $path   The called package.Service/Method.
	 * @param int    $status The gRPC status code.
	 * @return string
	 */
	private function unexplained( string $path, int $status ): string {
		// tonic answers a method it does not serve with a bare UNIMPLEMENTED.
		if ( Cachicamo_Sync_Rpc_Error::UNIMPLEMENTED === $status ) {
			return sprintf( 'The Cachicamo Sync sidecar does not know %s: it is probably older than the plugin, so update it.', $path );
		}
		return sprintf( 'The Cachicamo Sync sidecar refused %s with gRPC status %d.', $path, $status );
	}

	/**
	 * A timeout for people: "1 second", "5 seconds", "0.5 seconds".
	 *
	 * @param float $seconds The timeout.
	 * @return string
	 */
	private function duration( float $seconds ): string {
		$shown = rtrim( rtrim( number_format( $seconds, 3, '.', '' ), '0' ), '.' );
		return '1' === $shown ? '1 second' : $shown . ' seconds';
	}
}
