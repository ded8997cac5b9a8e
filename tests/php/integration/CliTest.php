<?php
/**
 * `wp cachicamo …`: every subcommand's output, with the real command class against the real
 * sidecar (WP_CLI itself is a recording stand-in).
 *
 * @package Cachicamo_Sync
 */

/**
 * WP-CLI tests.
 */
class CliTest extends Cachicamo_Sync_Test_Case {

	public function test_sync_wait_shows_progress_and_the_result() {
		self::wait_for_idle();
		$this->cli()->sync( array(), array( 'wait' => true, 'format' => 'json' ) );
		$rows = $this->json();
		$this->assertSame( 'completed', $rows[0]['status'] );
		$bar = $GLOBALS['cachicamo_test_bar'];
		$this->assertSame( (int) explode( '/', $rows[0]['batches'] )[1], $bar->ticks, 'one tick per batch' );
		$this->assertTrue( $bar->finished );
		$this->assertStringContainsString( 'completed', WP_CLI::text() );
	}

	public function test_sync_without_wait_starts_and_returns() {
		self::wait_for_idle();
		$this->cli()->sync( array(), array() );
		$this->assertMatchesRegularExpression( '/Started run \d+ \(\d+ batches\)\.|is already running/', WP_CLI::text() );
		self::wait_for_idle();
	}

	public function test_status_batches_and_changes() {
		self::wait_for_idle();
		$this->cli()->status( array(), array( 'format' => 'json' ) );
		$status = $this->json()[0];
		$this->assertSame( 'idle', $status['state'] );
		$this->assertStringStartsWith( 'healthy', $status['health'] );
		$this->assertSame( 'completed', $status['run'] );

		$this->cli()->batches( array(), array( 'format' => 'json' ) );
		$batches = $this->json();
		$this->assertSame( (int) explode( '/', $status['progress'] )[1], count( $batches ) );
		$this->assertSame( 'completed', $batches[0]['status'] );

		$this->cli()->batches( array(), array( 'status' => 'error', 'format' => 'count' ) );
		$this->assertSame( '0', WP_CLI::$lines[0][1] );

		try {
			$this->cli()->batches( array(), array( 'status' => 'bogus' ) );
			$this->fail( 'an unknown status is refused' );
		} catch ( Cachicamo_Sync_Test_Cli_Exit $e ) {
			$this->assertStringContainsString( 'is not one of pending', $e->getMessage() );
		}

		$this->cli()->changes( array(), array( 'limit' => 5, 'format' => 'json' ) );
		$changes = $this->json();
		$this->assertLessThanOrEqual( 5, count( $changes ) );
		$this->assertArrayHasKey( 'stock', $changes[0] );
	}

	public function test_sku_pause_resume_and_retry_failed() {
		self::wait_for_idle();
		$product = self::expected( 'simple' )[30];
		$this->cli()->sku( array( $product['sku'], 'NO-SUCH' ), array( 'format' => 'json' ) );
		$rows = $this->json();
		$this->assertSame( $product['sku'], $rows[0]['sku'] );
		$this->assertContains( $rows[0]['outcome'], array( 'changed', 'unchanged' ) );
		$this->assertSame( 'not_found', $rows[1]['outcome'] );

		$this->cli()->pause();
		$this->assertStringContainsString( 'Paused', WP_CLI::text() );
		$this->assertTrue( $this->client()->get_status()['paused'] );
		$this->cli()->resume();
		$this->assertFalse( $this->client()->get_status()['paused'] );

		$this->cli()->retry_failed( array(), array() );
		$this->assertMatchesRegularExpression( '/Requeued 0 failed batches of run \d+\./', WP_CLI::text() );
	}

	public function test_doctor_passes_and_names_what_is_wrong() {
		$this->cli()->doctor( array(), array( 'format' => 'json' ) );
		$checks = wp_list_pluck( $this->json(), 'status', 'check' );
		$this->assertSame( array( 'socket', 'sidecar', 'database', 'cachicamo api', 'credentials', 'cron' ), array_keys( $checks ) );
		$this->assertSame( array( 'ok' ), array_values( array_unique( $checks ) ), WP_CLI::text() );
		$this->assertStringContainsString( 'All checks passed', WP_CLI::text() );

		$dead = fn() => new Cachicamo_Sync_Client( '/nonexistent/cachicamo.sock', 1.0 );
		add_filter( 'cachicamo_sync_client', $dead );
		try {
			$this->cli()->doctor( array(), array( 'format' => 'json' ) );
			$this->fail( 'doctor fails when the sidecar is down' );
		} catch ( Cachicamo_Sync_Test_Cli_Exit $e ) {
			$checks = wp_list_pluck( $this->json(), 'detail', 'check' );
			$this->assertStringContainsString( 'not running', $checks['sidecar'] );
			$this->assertMatchesRegularExpression( '/\d+ of 6 checks failed/', $e->getMessage() );
		} finally {
			remove_filter( 'cachicamo_sync_client', $dead );
		}
	}

	public function test_a_dead_sidecar_ends_commands_with_the_reason() {
		$dead = fn() => new Cachicamo_Sync_Client( '/nonexistent/cachicamo.sock', 1.0 );
		add_filter( 'cachicamo_sync_client', $dead );
		try {
			$this->cli()->sync( array(), array() );
			$this->fail( 'sync must fail' );
		} catch ( Cachicamo_Sync_Test_Cli_Exit $e ) {
			$this->assertStringContainsString( 'The Cachicamo Sync sidecar is not running', $e->getMessage() );
		} finally {
			remove_filter( 'cachicamo_sync_client', $dead );
		}
	}

	public function test_a_sku_that_is_not_utf8_ends_the_command_with_the_reason() {
		try {
			$this->cli()->sku( array( "BAD-\xff" ), array( 'format' => 'json' ) );
			$this->fail( 'the command must end with an error' );
		} catch ( Cachicamo_Sync_Test_Cli_Exit $e ) {
			$this->assertStringContainsString( 'UTF-8', $e->getMessage() );
		}
	}
}
