<?php
/**
 * The codec's edges: malformed input, unknown fields, proto3 merging and values that do not fit.
 *
 * @package Cachicamo_Sync
 */

use PHPUnit\Framework\TestCase;

/**
 * Cachicamo_Sync_Protobuf beyond the shared vectors.
 */
class ProtobufTest extends TestCase {

	/**
	 * The codec for the contract.
	 *
	 * @var Cachicamo_Sync_Protobuf
	 */
	private $codec;

	protected function setUp(): void {
		$this->codec = new Cachicamo_Sync_Protobuf( Cachicamo_Sync_Messages::SCHEMA );
	}

	/**
	 * Bytes from hex with spaces, for readable cases.
	 *
	 * @param string $hex Hex digits, spaces ignored.
	 * @return string
	 */
	private static function bytes( string $hex ): string {
		return (string) hex2bin( str_replace( ' ', '', $hex ) );
	}

	/**
	 * Malformed messages and the error each must give.
	 *
	 * @return array
	 */
	public function malformed(): array {
		return array(
			'empty varint'                    => array( 'TickRequest', '08', 'Malformed TickRequest: truncated varint at byte 1.' ),
			'truncated varint'                => array( 'TickRequest', '08 80 80', 'Malformed TickRequest: truncated varint at byte 1.' ),
			'truncated key'                   => array( 'TickRequest', '80', 'Malformed TickRequest: truncated varint at byte 0.' ),
			'varint over 64 bits'             => array( 'AckChangesResponse', '08 ff ff ff ff ff ff ff ff ff 02', 'Malformed AckChangesResponse: varint longer than 64 bits at byte 1.' ),
			'varint of 11 bytes'              => array( 'AckChangesResponse', '08 ff ff ff ff ff ff ff ff ff ff 01', 'Malformed AckChangesResponse: varint longer than 64 bits at byte 1.' ),
			'string past the end'             => array( 'SkuResult', '0a 05 41 42', 'Malformed SkuResult: the length 5 at byte 1 runs past the end (2 bytes left).' ),
			'sub-message past the end'        => array( 'StartSyncResponse', '0a 10 08 01', 'Malformed StartSyncResponse: the length 16 at byte 1 runs past the end (2 bytes left).' ),
			'packed list past the end'        => array( 'AckChangesRequest', '0a 03 01 02', 'Malformed AckChangesRequest: the length 3 at byte 1 runs past the end (2 bytes left).' ),
			'varint cut by its packed list'   => array( 'AckChangesRequest', '0a 01 80 01', 'Malformed AckChangesRequest: truncated varint at byte 2.' ),
			'huge length'                     => array( 'SkuResult', '0a ff ff ff ff ff ff ff ff 7f', 'Malformed SkuResult: the length 9223372036854775807 at byte 1 runs past the end (0 bytes left).' ),
			'negative length'                 => array( 'SkuResult', '0a ff ff ff ff ff ff ff ff ff 01', 'Malformed SkuResult: the length -1 at byte 1 runs past the end (0 bytes left).' ),
			'malformed inside a sub-message'  => array( 'StartSyncResponse', '0a 02 08 80', 'Malformed Run: truncated varint at byte 3.' ),
			'truncated double'                => array( 'RunProgress', '11 00 00 00', 'Malformed RunProgress: truncated 8-byte value at byte 1.' ),
			'string for a number'             => array( 'TickRequest', '0a 00', 'Malformed TickRequest: field max_changes (1) has wire type 2 instead of 0 at byte 0.' ),
			'number for a string'             => array( 'SkuResult', '08 01', 'Malformed SkuResult: field sku (1) has wire type 0 instead of 2 at byte 0.' ),
			'number for a message'            => array( 'StartSyncResponse', '08 01', 'Malformed StartSyncResponse: field run (1) has wire type 0 instead of 2 at byte 0.' ),
			'fixed64 for a bool'              => array( 'StartSyncResponse', '11 00 00 00 00 00 00 00 00', 'Malformed StartSyncResponse: field started (2) has wire type 1 instead of 0 at byte 0.' ),
			'packed list for a single number' => array( 'TickRequest', '0a 01 01', 'Malformed TickRequest: field max_changes (1) has wire type 2 instead of 0 at byte 0.' ),
			'field number 0'                  => array( 'TickRequest', '00 01', 'Malformed TickRequest: invalid field key 0 at byte 0.' ),
			'field number over 2^29'          => array( 'TickRequest', '80 80 80 80 10 00', 'Malformed TickRequest: invalid field key 4294967296 at byte 0.' ),
			'wire type 6'                     => array( 'TickRequest', '4e 00', 'Malformed TickRequest: field 9 has the unexpected wire type 6 before byte 1.' ),
			'wire type 7'                     => array( 'TickRequest', '4f 00', 'Malformed TickRequest: field 9 has the unexpected wire type 7 before byte 1.' ),
			'end of a group never opened'     => array( 'TickRequest', '4c', 'Malformed TickRequest: field 9 has the unexpected wire type 4 before byte 1.' ),
			'group without an end'            => array( 'TickRequest', '4b 08 01', 'Malformed TickRequest: group 9 has no end.' ),
			'group ended as another'          => array( 'TickRequest', '4b 54', 'Malformed TickRequest: group 9 ends as group 10 at byte 1.' ),
			'bad value inside a group'        => array( 'TickRequest', '4b 12 05 4c', 'Malformed TickRequest: the length 5 at byte 2 runs past the end (1 bytes left).' ),
			'string that is not UTF-8'        => array( 'SkuResult', '0a 02 c3 28', 'Malformed SkuResult: the string at byte 1 is not UTF-8.' ),
			'uint64 above PHP_INT_MAX'        => array( 'WatchRunRequest', '08 80 80 80 80 80 80 80 80 80 01', 'Malformed WatchRunRequest: the uint64 at byte 1 is larger than PHP can hold.' ),
		);
	}

	/**
	 * Malformed input throws UnexpectedValueException with a message naming what and where.
	 *
	 * @dataProvider malformed
	 *
	 * @param string $type    The message type.
	 * @param string $hex     The bytes.
	 * @param string $message The expected error.
	 */
	public function test_malformed_input_throws( string $type, string $hex, string $message ): void {
		$this->expectException( UnexpectedValueException::class );
		$this->expectExceptionMessage( $message );
		$this->codec->decode( $type, self::bytes( $hex ) );
	}

	public function test_groups_nested_too_deep_throw(): void {
		$this->expectException( UnexpectedValueException::class );
		$this->expectExceptionMessage( 'groups nested too deep' );
		$this->codec->decode( 'TickRequest', str_repeat( "\x4b", 1000 ) );
	}

	public function test_absent_fields_get_their_defaults(): void {
		$this->assertSame(
			array(
				'run'             => null,
				'skus_per_second' => 0.0,
				'eta_ms'          => 0,
				'finished'        => false,
			),
			$this->codec->decode( 'RunProgress', '' )
		);
		$this->assertSame(
			array(
				'totals'              => null,
				'results'             => array(),
				'changed_product_ids' => array(),
			),
			$this->codec->decode( 'SyncSkusResponse', '' )
		);
		$this->assertSame( array(), $this->codec->decode( 'GetStatusRequest', '' ) );
	}

	public function test_unknown_fields_of_every_wire_type_are_skipped(): void {
		$bytes = self::bytes(
			'08 2a' // acknowledged = 42.
			. ' a0 01 96 01' // field 20, varint.
			. ' a9 01 01 02 03 04 05 06 07 08' // field 21, fixed64.
			. ' b2 01 03 61 62 63' // field 22, length-delimited.
			. ' bb 01 08 01 12 01 78 c3 01 c4 01 bc 01' // field 23, a group holding a varint, a string and an empty group 24.
			. ' c5 01 01 02 03 04' // field 24, fixed32.
		);
		$this->assertSame( array( 'acknowledged' => 42 ), $this->codec->decode( 'AckChangesResponse', $bytes ) );
	}

	public function test_a_newer_sidecars_fields_are_ignored_inside_nested_messages(): void {
		// A Run with a field 14 the plugin does not know, then a known field after it.
		$run = self::bytes( '08 07 72 04 6e 65 77 21 10 01' );
		$got = $this->codec->decode( 'StartSyncResponse', "\x0a" . chr( strlen( $run ) ) . $run . "\x10\x01" );
		$this->assertSame( 7, $got['run']['id'] );
		$this->assertSame( 1, $got['run']['trigger'] );
		$this->assertTrue( $got['started'] );
	}

	public function test_repeated_scalars_are_read_packed_or_not(): void {
		// Unpacked 1, packed (2, 300), unpacked 4: a list that changed encoding keeps every item.
		$bytes = self::bytes( '28 01 2a 03 02 ac 02 28 04' );
		$this->assertSame( array( 1, 2, 300, 4 ), $this->codec->decode( 'TickResponse', $bytes )['changed_product_ids'] );
	}

	public function test_repeated_fields_encode_like_prost(): void {
		$this->assertSame( '0a04017f8001', bin2hex( $this->codec->encode( 'AckChangesRequest', array( 'change_ids' => array( 1, 127, 128 ) ) ) ) );
		$this->assertSame( '', $this->codec->encode( 'AckChangesRequest', array( 'change_ids' => array() ) ) );
		// Empty strings in a list are items, not defaults.
		$this->assertSame( '0a000a0141', bin2hex( $this->codec->encode( 'SyncSkusRequest', array( 'skus' => array( '', 'A' ) ) ) ) );
	}

	public function test_scalars_seen_twice_keep_the_last_and_messages_merge(): void {
		// max_changes 5 then 7.
		$this->assertSame( array( 'max_changes' => 7 ), $this->codec->decode( 'TickRequest', self::bytes( '08 05 08 07' ) ) );
		// run { id: 1, totals { synced: 2 } } then run { trigger: 3, totals { changed: 4 } }.
		$got = $this->codec->decode( 'StartSyncResponse', self::bytes( '0a 06 08 01 4a 02 08 02 0a 06 10 03 4a 02 10 04' ) );
		$this->assertSame( 1, $got['run']['id'] );
		$this->assertSame( 3, $got['run']['trigger'] );
		$this->assertSame( 2, $got['run']['totals']['synced'] );
		$this->assertSame( 4, $got['run']['totals']['changed'] );
	}

	public function test_defaults_are_left_out_but_present_messages_are_kept(): void {
		$this->assertSame(
			'',
			$this->codec->encode(
				'Run',
				array(
					'id'            => 0,
					'error_message' => '',
					'totals'        => null,
					'started_at'    => 0,
				)
			)
		);
		$this->assertSame( '', $this->codec->encode( 'RunProgress', array( 'skus_per_second' => -0.0 ) ) );
		$this->assertSame( '', $this->codec->encode( 'ListChangesRequest', array( 'include_finalized' => false ) ) );
		$this->assertSame( '4a00', bin2hex( $this->codec->encode( 'Run', array( 'totals' => array() ) ) ) );
	}

	public function test_negative_integers_are_ten_byte_varints(): void {
		$this->assertSame( '50ffffffffffffffffff01', bin2hex( $this->codec->encode( 'Run', array( 'started_at' => -1 ) ) ) );
		$this->assertSame( '5080808080808080808001', bin2hex( $this->codec->encode( 'Run', array( 'started_at' => PHP_INT_MIN ) ) ) );
		$this->assertSame( PHP_INT_MIN, $this->codec->decode( 'Run', self::bytes( '50 80 80 80 80 80 80 80 80 80 01' ) )['started_at'] );
		// An int32 enum is sign-extended too, and read back from its low 32 bits.
		$this->assertSame( '08ffffffffffffffffff01', bin2hex( $this->codec->encode( 'EngineStateResponse', array( 'state' => -1 ) ) ) );
		$this->assertSame( -1, $this->codec->decode( 'EngineStateResponse', self::bytes( '08 ff ff ff ff ff ff ff ff ff 01' ) )['state'] );
	}

	public function test_wide_varints_are_truncated_to_32_bits_for_uint32(): void {
		// 2^32 + 5, as a 64-bit writer would send it.
		$this->assertSame( 5, $this->codec->decode( 'AckChangesResponse', self::bytes( '08 85 80 80 80 10' ) )['acknowledged'] );
	}

	public function test_doubles_round_trip(): void {
		$bytes = $this->codec->encode( 'RunProgress', array( 'skus_per_second' => 1.5 ) );
		$this->assertSame( '11000000000000f83f', bin2hex( $bytes ) );
		$this->assertSame( 1.5, $this->codec->decode( 'RunProgress', $bytes )['skus_per_second'] );
		$this->assertSame( 2.0, $this->codec->decode( 'RunProgress', $this->codec->encode( 'RunProgress', array( 'skus_per_second' => 2 ) ) )['skus_per_second'] );
	}

	public function test_the_health_check_messages(): void {
		$this->assertSame( '', $this->codec->encode( 'HealthCheckRequest', array( 'service' => '' ) ) );
		$this->assertSame( '0a0473796e63', bin2hex( $this->codec->encode( 'HealthCheckRequest', array( 'service' => 'sync' ) ) ) );
		$this->assertSame( array( 'status' => Cachicamo_Sync_Messages::HEALTH_SERVING ), $this->codec->decode( 'HealthCheckResponse', "\x08\x01" ) );
	}

	/**
	 * Schema entries the codec refuses.
	 *
	 * @return array
	 */
	public function bad_schemas(): array {
		return array(
			'unknown type'           => array( array( 'M' => array( 'f' => array( 1, 'float' ) ) ) ),
			'no type'                => array( array( 'M' => array( 'f' => array( 1 ) ) ) ),
			'field number 0'         => array( array( 'M' => array( 'f' => array( 0, 'bool' ) ) ) ),
			'field number as string' => array( array( 'M' => array( 'f' => array( '1', 'bool' ) ) ) ),
			'message type missing'   => array( array( 'M' => array( 'f' => array( 1, 'message' ) ) ) ),
			'message type not there' => array( array( 'M' => array( 'f' => array( 1, 'message', false, 'N' ) ) ) ),
		);
	}

	/**
	 * A schema the codec cannot follow is refused up front, not met halfway through a message.
	 *
	 * @dataProvider bad_schemas
	 *
	 * @param array $schema The schema.
	 */
	public function test_a_bad_schema_is_refused( array $schema ): void {
		$this->expectException( InvalidArgumentException::class );
		$this->expectExceptionMessage( 'The schema of M.f is not array( number, type, repeated, message type ) with a known type.' );
		new Cachicamo_Sync_Protobuf( $schema );
	}

	/**
	 * Values that do not fit their message.
	 *
	 * @return array
	 */
	public function misfits(): array {
		return array(
			'unknown message'       => array( 'NoSuchMessage', array(), 'There is no message NoSuchMessage in the schema.' ),
			'unknown field'         => array( 'TickRequest', array( 'max_change' => 5 ), 'TickRequest has no field max_change.' ),
			'string for an integer' => array( 'TickRequest', array( 'max_changes' => '5' ), 'TickRequest.max_changes must be an integer from 0 to 4294967295.' ),
			'uint32 too large'      => array( 'TickRequest', array( 'max_changes' => 4294967296 ), 'TickRequest.max_changes must be an integer from 0 to 4294967295.' ),
			'negative uint64'       => array( 'WatchRunRequest', array( 'run_id' => -1 ), 'WatchRunRequest.run_id must be an integer from 0 to 9223372036854775807.' ),
			'enum too large'        => array( 'StartSyncRequest', array( 'trigger' => 2147483648 ), 'StartSyncRequest.trigger must be an integer from -2147483648 to 2147483647.' ),
			'int for a bool'        => array( 'ListChangesRequest', array( 'include_finalized' => 1 ), 'ListChangesRequest.include_finalized must be a bool.' ),
			'int for a string'      => array( 'ListBatchesRequest', array( 'page_token' => 5 ), 'ListBatchesRequest.page_token must be a UTF-8 string.' ),
			'string not UTF-8'      => array( 'SyncSkusRequest', array( 'skus' => array( "caf\xe9" ) ), 'SyncSkusRequest.skus must be a UTF-8 string.' ),
			'string for a double'   => array( 'RunProgress', array( 'skus_per_second' => '1.5' ), 'RunProgress.skus_per_second must be a number.' ),
			'map for a list'        => array( 'AckChangesRequest', array( 'change_ids' => array( 'a' => 1 ) ), 'AckChangesRequest.change_ids must be a list.' ),
			'scalar for a list'     => array( 'AckChangesRequest', array( 'change_ids' => 1 ), 'AckChangesRequest.change_ids must be a list.' ),
			'scalar for a message'  => array( 'StartSyncResponse', array( 'run' => 5 ), 'StartSyncResponse.run must be an array (a Run message).' ),
			'bad nested field'      => array( 'StartSyncResponse', array( 'run' => array( 'id' => 'x' ) ), 'Run.id must be an integer from 0 to 9223372036854775807.' ),
		);
	}

	/**
	 * A value that does not fit throws InvalidArgumentException, naming the field.
	 *
	 * @dataProvider misfits
	 *
	 * @param string $type    The message type.
	 * @param array  $value   The value.
	 * @param string $message The expected error.
	 */
	public function test_values_that_do_not_fit_throw( string $type, array $value, string $message ): void {
		$this->expectException( InvalidArgumentException::class );
		$this->expectExceptionMessage( $message );
		$this->codec->encode( $type, $value );
	}
}
