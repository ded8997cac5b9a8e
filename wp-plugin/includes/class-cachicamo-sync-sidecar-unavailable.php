<?php
/**
 * The sidecar could not be reached, or stopped answering.
 *
 * @package Cachicamo_Sync
 */

/**
 * Thrown when the call never got a gRPC answer: no socket, nothing listening, no permission, a
 * timeout, or the sidecar going away mid-call. The message is one sentence that tells the shop
 * owner what to do; the code is curl's error number (0 when curl was not involved).
 */
class Cachicamo_Sync_Sidecar_Unavailable extends RuntimeException {
}
