<?php
/**
 * The wire between PHP's curl and the sidecar, on the real socket.
 *
 * @package Cachicamo_Sync
 */

/**
 * Transport tests.
 */
class TransportTest extends Cachicamo_Sync_Test_Case {

	public function test_an_unknown_method_always_gets_its_status() {
		// tonic answers an unknown method before reading the request; without the sidecar
		// reading bodies first, Debian 12's curl loses some of those answers.
		$client = $this->client();
		for ( $i = 0; $i < 300; $i++ ) {
			try {
				$client->call( 'NoSuchMethod', array(), 'GetStatusRequest', 'GetStatusResponse' );
				$this->fail( 'an unknown method cannot succeed' );
			} catch ( Cachicamo_Sync_Rpc_Error $e ) {
				$this->assertSame( 12, $e->get_grpc_code(), "call $i: " . $e->getMessage() );
			}
		}
	}

	public function test_health_and_many_quick_calls() {
		$client = $this->client();
		$this->assertTrue( $client->health() );
		for ( $i = 0; $i < 200; $i++ ) {
			$this->assertIsArray( $client->get_status()['health'] );
		}
	}

	/**
	 * proto3 strings are UTF-8: the codec refuses anything else before it reaches the socket, as
	 * a caller's mistake, and the sidecar is left untouched.
	 */
	public function test_invalid_utf8_is_refused_and_nothing_is_written() {
		global $wpdb;
		$before = (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->postmeta}" );
		try {
			$this->client()->sync_skus( array( "SIM-\xff\xfe-bad" ) );
			$this->fail( 'invalid UTF-8 cannot be a SKU' );
		} catch ( InvalidArgumentException $e ) {
			$this->assertSame( 'SyncSkusRequest.skus must be a UTF-8 string.', $e->getMessage() );
		}
		$this->assertSame( $before, (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->postmeta}" ) );
	}
}
