<?php
/**
 * The PHP codec against prost, through the shared vectors (tests/vectors/messages.json, written
 * by tests/tests/vectors.rs).
 *
 * @package Cachicamo_Sync
 */

use PHPUnit\Framework\TestCase;

/**
 * Decodes every vector's bytes and encodes its value back.
 */
class ProtobufVectorsTest extends TestCase {

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
	 * Every vector, named by its index and type.
	 *
	 * @return array
	 */
	public function vectors(): array {
		$vectors = json_decode( (string) file_get_contents( dirname( __DIR__, 2 ) . '/vectors/messages.json' ), true, 512, JSON_THROW_ON_ERROR );
		$cases   = array();
		foreach ( $vectors as $i => $vector ) {
			$cases[ sprintf( '%d %s', $i, $vector['type'] ) ] = array( $vector['type'], $vector['hex'], $vector['value'] );
		}
		return $cases;
	}

	/**
	 * The vectors cover every message the client sends or receives at the top level.
	 */
	public function test_the_vectors_cover_every_call(): void {
		$types = array_unique( array_column( $this->vectors(), 0 ) );
		foreach ( array( 'StartSync', 'Tick', 'GetStatus', 'SyncSkus', 'ListBatches', 'RetryFailed', 'CancelRun', 'ListChanges', 'AckChanges', 'GetMetrics' ) as $call ) {
			$this->assertContains( $call . 'Request', $types );
			$this->assertContains( $call . 'Response', $types );
		}
		foreach ( array( 'WatchRunRequest', 'RunProgress', 'PauseRequest', 'ResumeRequest', 'EngineStateResponse' ) as $type ) {
			$this->assertContains( $type, $types );
		}
	}

	/**
	 * Decoding prost's bytes gives the value.
	 *
	 * @dataProvider vectors
	 *
	 * @param string $type  The message type.
	 * @param string $hex   prost's encoding.
	 * @param array  $value The message as the codec represents it.
	 */
	public function test_decodes_prost_bytes( string $type, string $hex, array $value ): void {
		$this->assertSame( $value, $this->codec->decode( $type, (string) hex2bin( $hex ) ) );
	}

	/**
	 * Encoding the value gives prost's bytes exactly.
	 *
	 * @dataProvider vectors
	 *
	 * @param string $type  The message type.
	 * @param string $hex   prost's encoding.
	 * @param array  $value The message as the codec represents it.
	 */
	public function test_encodes_like_prost( string $type, string $hex, array $value ): void {
		$this->assertSame( $hex, bin2hex( $this->codec->encode( $type, $value ) ) );
	}
}
