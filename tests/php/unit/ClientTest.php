<?php
/**
 * The client's failures that need no sidecar: each gives the right exception and sentence.
 *
 * @package Cachicamo_Sync
 */

use PHPUnit\Framework\TestCase;

/**
 * Cachicamo_Sync_Client against missing, stale, forbidden, too long and silent sockets.
 */
class ClientTest extends TestCase {

	const START = 'Start it with `systemctl start cachicamo-sidecar` (or `cachicamo-sidecar serve`).';

	/**
	 * A fresh folder for this test's sockets.
	 *
	 * @var string
	 */
	private $dir;

	/**
	 * Listening sockets to close after the test.
	 *
	 * @var resource[]
	 */
	private $servers = array();

	protected function setUp(): void {
		$this->dir = sys_get_temp_dir() . '/cachicamo-client-' . bin2hex( random_bytes( 4 ) );
		mkdir( $this->dir, 0700 );
	}

	protected function tearDown(): void {
		foreach ( $this->servers as $server ) {
			fclose( $server );
		}
		foreach ( (array) glob( $this->dir . '/*' ) as $file ) {
			unlink( $file );
		}
		rmdir( $this->dir );
	}

	/**
	 * A socket that accepts connections (the kernel queues them) and never answers.
	 *
	 * @param string $path Where.
	 */
	private function listen( string $path ): void {
		$server = stream_socket_server( 'unix://' . $path, $errno, $errstr );
		$this->assertNotFalse( $server, $errstr );
		$this->servers[] = $server;
	}

	/**
	 * Asserts that a call throws Cachicamo_Sync_Sidecar_Unavailable with exactly this message.
	 *
	 * @param string   $message The sentence.
	 * @param callable $call    The call.
	 */
	private function assert_unavailable( string $message, callable $call ): void {
		try {
			$call();
		} catch ( Cachicamo_Sync_Sidecar_Unavailable $e ) {
			$this->assertSame( $message, $e->getMessage() );
			return;
		}
		$this->fail( 'Cachicamo_Sync_Sidecar_Unavailable was not thrown.' );
	}

	public function test_a_missing_socket(): void {
		$path   = $this->dir . '/sidecar.sock';
		$client = new Cachicamo_Sync_Client( $path );
		$this->assert_unavailable(
			"The Cachicamo Sync sidecar is not running: there is no socket at $path. " . self::START,
			function () use ( $client ) {
				$client->get_status();
			}
		);
	}

	public function test_a_missing_folder(): void {
		$path = $this->dir . '/gone/sidecar.sock';
		$this->assert_unavailable(
			"The Cachicamo Sync sidecar is not running: there is no socket at $path. " . self::START,
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path ) )->health();
			}
		);
	}

	public function test_a_plain_file_at_the_path(): void {
		$path = $this->dir . '/sidecar.sock';
		file_put_contents( $path, 'not a socket' );
		$this->assert_unavailable(
			"The Cachicamo Sync sidecar is not running (nothing answers on $path). " . self::START,
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path ) )->tick();
			}
		);
	}

	public function test_a_stale_socket(): void {
		$path = $this->dir . '/sidecar.sock';
		$this->listen( $path );
		fclose( array_pop( $this->servers ) );
		$this->assertFileExists( $path, 'closing a listening socket leaves its file, as a crash does' );
		$this->assert_unavailable(
			"The Cachicamo Sync sidecar is not running (nothing answers on $path). " . self::START,
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path ) )->start_sync( 'manual' );
			}
		);
	}

	public function test_a_socket_the_user_may_not_open(): void {
		if ( 0 === posix_geteuid() ) {
			$this->markTestSkipped( 'root may open any socket' );
		}
		$path = $this->dir . '/sidecar.sock';
		$this->listen( $path );
		chmod( $path, 0 );
		$this->assert_unavailable(
			"The web server's user may not open $path: add it to the socket's group (cachicamo-sidecar serve --socket-group www-data).",
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path ) )->get_status();
			}
		);
	}

	public function test_a_path_over_107_bytes(): void {
		$path = $this->dir . '/' . str_repeat( 's', 108 - strlen( $this->dir ) - 1 );
		$this->assertSame( 108, strlen( $path ) );
		$this->assert_unavailable(
			"The socket path $path is 108 bytes long, but a Unix socket path may have at most 107: choose a shorter one for the sidecar (--socket) and the plugin.",
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path ) )->get_status();
			}
		);
	}

	public function test_a_path_of_107_bytes_is_used(): void {
		$path = $this->dir . '/' . str_repeat( 's', 107 - strlen( $this->dir ) - 1 );
		$this->assertSame( 107, strlen( $path ) );
		$this->assert_unavailable(
			"The Cachicamo Sync sidecar is not running: there is no socket at $path. " . self::START,
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path ) )->get_status();
			}
		);
	}

	/**
	 * Paths curl cannot use as a socket.
	 *
	 * @return array
	 */
	public function unusable_paths(): array {
		return array(
			'empty'      => array( '' ),
			'a NUL byte' => array( "/run/side\0car.sock" ),
		);
	}

	/**
	 * An empty path would make curl call localhost:80 over TCP; a NUL byte makes it throw.
	 *
	 * @dataProvider unusable_paths
	 *
	 * @param string $path The path.
	 */
	public function test_an_unusable_path( string $path ): void {
		$this->assert_unavailable(
			"The Cachicamo Sync sidecar's socket path is empty or invalid: set it in the plugin's settings.",
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path ) )->get_status();
			}
		);
	}

	public function test_a_hung_sidecar_times_out(): void {
		$path = $this->dir . '/sidecar.sock';
		$this->listen( $path );
		$started = microtime( true );
		$this->assert_unavailable(
			'The Cachicamo Sync sidecar did not answer within 1 second.',
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path, 1.0 ) )->get_status();
			}
		);
		$elapsed = microtime( true ) - $started;
		$this->assertGreaterThan( 0.9, $elapsed );
		$this->assertLessThan( 3.0, $elapsed );
	}

	public function test_a_stream_has_its_own_timeout(): void {
		$path = $this->dir . '/sidecar.sock';
		$this->listen( $path );
		$this->assert_unavailable(
			'The Cachicamo Sync sidecar did not answer within 0.5 seconds.',
			function () use ( $path ) {
				( new Cachicamo_Sync_Client( $path, 30.0 ) )->watch_run(
					0,
					function () {
						return true;
					},
					0.5
				);
			}
		);
	}

	public function test_an_unknown_trigger_is_refused_before_any_call(): void {
		$this->expectException( InvalidArgumentException::class );
		$this->expectExceptionMessage( 'The trigger must be manual, cron or cli, not weekly.' );
		( new Cachicamo_Sync_Client( $this->dir . '/sidecar.sock' ) )->start_sync( 'weekly' );
	}
}
