<?php
/**
 * The button: Force Inventory Sync → a run in the sidecar → the store updated; the panel's poll;
 * capability and nonce checks.
 *
 * @package Cachicamo_Sync
 */

/**
 * Button-to-store tests.
 */
class SyncFlowTest extends Cachicamo_Sync_Test_Case {

	protected function setUp(): void {
		self::login_as( 'admin' );
	}

	public function test_the_button_runs_a_sync_that_updates_the_store() {
		self::wait_for_idle();
		$products = array_slice( self::expected( 'simple' ), 0, 5 );
		foreach ( $products as $p ) {
			update_post_meta( $p['product_id'], '_stock', '999' );
		}
		$start = $this->ajax( 'cachicamo_sync_start' );
		$this->assertTrue( $start['success'], wp_json_encode( $start ) );
		$this->assertTrue( $start['data']['started'] );
		$this->assertGreaterThan( 0, $start['data']['run']['total_batches'] );

		$deadline = microtime( true ) + 60;
		do {
			usleep( 300000 );
			$status = $this->ajax( 'cachicamo_sync_status' );
			$this->assertTrue( $status['data']['ok'], wp_json_encode( $status ) );
		} while ( $status['data']['running'] && microtime( true ) < $deadline );
		$run = $status['data']['run'];
		$this->assertSame( 'completed', $run['status'] );
		$this->assertSame( 100, $run['percent'] );
		$this->assertSame( $start['data']['run']['id'], $run['id'] );
		foreach ( $products as $p ) {
			wp_cache_delete( $p['product_id'], 'post_meta' );
			$this->assertEquals( $p['stock'], get_post_meta( $p['product_id'], '_stock', true ), 'product ' . $p['product_id'] );
		}
		$this->assertNotSame( '', get_option( 'cachicamoapp_last_stock_sync' ) );
		$this->assertSame( (string) $run['synced'], get_option( 'cachicamoapp_last_stock_sync_count' ) );
		$this->assertStringStartsWith( 'healthy', $status['data']['health_text'] );
	}

	public function test_a_second_press_while_a_run_is_active_shows_that_run() {
		self::wait_for_idle();
		$first  = $this->ajax( 'cachicamo_sync_start' );
		$second = $this->ajax( 'cachicamo_sync_start' );
		self::wait_for_idle();
		$this->assertTrue( $second['success'] );
		if ( $first['data']['run']['running'] ) {
			$this->assertFalse( $second['data']['started'] );
			$this->assertSame( $first['data']['run']['id'], $second['data']['run']['id'] );
			$this->assertStringContainsString( 'already running', $second['data']['message'] );
		}
	}

	public function test_a_missing_or_wrong_nonce_is_refused() {
		$runs  = $this->client()->get_status()['last_run']['id'] ?? 0;
		$reply = $this->ajax( 'cachicamo_sync_start', 'not-a-nonce' );
		$this->assertFalse( $reply['success'] );
		$this->assertStringContainsString( 'session has expired', $reply['data']['message'] );
		$this->assertSame( $runs, $this->client()->get_status()['last_run']['id'] ?? 0, 'no run was started' );
	}

	public function test_a_user_without_the_capability_is_refused() {
		self::login_as( 'subscriber' );
		$reply = $this->ajax( 'cachicamo_sync_start' );
		$this->assertFalse( $reply['success'] );
		$this->assertStringContainsString( 'not allowed', $reply['data']['message'] );
		wp_set_current_user( 0 );
		$reply = $this->ajax( 'cachicamo_sync_status' );
		$this->assertFalse( $reply['success'] );
	}

	public function test_retry_failed_requeues_the_failed_batches() {
		self::wait_for_idle();
		$victim = self::expected( 'simple' )[3];
		self::sim( 'faults', array( 'fail_skus' => array( $victim['sku'] ) ) );
		try {
			$this->client()->start_sync( 'manual' );
			$run = self::wait_for_idle();
		} finally {
			// The simulator is shared by every test: its faults end with this one.
			self::sim( 'faults', array( 'reset' => true ) );
		}
		$this->assertSame( 'completed_with_errors', Cachicamo_Sync_Status::run_status_name( $run['status'] ) );
		$panel = $this->ajax( 'cachicamo_sync_status' )['data'];
		$this->assertCount( 1, $panel['failed_batches'] );
		$this->assertStringContainsString( 'HTTP 500', $panel['failed_batches'][0]['message'] );

		$reply = $this->ajax( 'cachicamo_sync_retry_failed' );
		$this->assertTrue( $reply['success'] );
		$this->assertSame( 1, $reply['data']['requeued'] );
		$run = self::wait_for_idle();
		$this->assertSame( 'completed', Cachicamo_Sync_Status::run_status_name( $run['status'] ) );
	}

	public function test_the_tools_page_renders_the_panel() {
		ob_start();
		Cachicamo_Sync_Admin_Page::render_page();
		$html = (string) ob_get_clean();
		$this->assertStringContainsString( 'Force Inventory Sync', $html );
		$this->assertStringContainsString( 'role="progressbar"', $html );
		$this->assertStringContainsString( 'data-field="synced"', $html );
		$this->assertMatchesRegularExpression( '/<div class="notice notice-error inline" data-role="error" hidden>/', $html, 'no error while the sidecar is up' );
		$this->assertStringNotContainsString( self::dataset()['access_token'], $html, 'the token never reaches the page' );
	}
}
