<?php
/**
 * The sidecar answered a call with an error.
 *
 * @package Cachicamo_Sync
 */

/**
 * Thrown for a non-zero gRPC status. The message is the sidecar's own, already written for
 * people; the status code tells callers how to react (NOT_FOUND: no sync has run yet,
 * FAILED_PRECONDITION: settings missing or the run is not active, UNAVAILABLE: the database or
 * the Cachicamo API is down, ...).
 */
class Cachicamo_Sync_Rpc_Error extends RuntimeException {

	const CANCELLED           = 1;
	const UNKNOWN             = 2;
	const INVALID_ARGUMENT    = 3;
	const DEADLINE_EXCEEDED   = 4;
	const NOT_FOUND           = 5;
	const ALREADY_EXISTS      = 6;
	const PERMISSION_DENIED   = 7;
	const RESOURCE_EXHAUSTED  = 8;
	const FAILED_PRECONDITION = 9;
	const ABORTED             = 10;
	const OUT_OF_RANGE        = 11;
	const UNIMPLEMENTED       = 12;
	const INTERNAL            = 13;
	const UNAVAILABLE         = 14;
	const DATA_LOSS           = 15;
	const UNAUTHENTICATED     = 16;

	/**
	 * Builds the error.
	 *
	 * @param string $message   The sidecar's message (grpc-message, already percent-decoded).
	 * @param int    $grpc_code The gRPC status code, 1 to 16.
	 */
	public function __construct( string $message, int $grpc_code ) {
		parent::__construct( $message, $grpc_code );
	}

	/**
	 * The gRPC status code, one of this class's constants.
	 *
	 * @return int
	 */
	public function get_grpc_code(): int {
		return $this->getCode();
	}
}
