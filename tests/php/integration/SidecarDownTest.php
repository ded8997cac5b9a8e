<?php
/**
 * A dead sidecar: the page says so in one sentence with what to run; no warning, no white
 * screen; the button answers with the same sentence.
 *
 * @package Cachicamo_Sync
 */

/**
 * Sidecar-down tests.
 */
class SidecarDownTest extends Cachicamo_Sync_Test_Case {

	/**
	 * The filter pointing the plugin at a dead socket.
	 *
	 * @var callable
	 */
	private $dead;

	protected function setUp(): void {
		self::login_as( 'admin' );
		$this->dead = fn() => new Cachicamo_Sync_Client( '/nonexistent/cachicamo.sock', 1.0 );
		add_filter( 'cachicamo_sync_client', $this->dead );
	}

	protected function tearDown(): void {
		remove_filter( 'cachicamo_sync_client', $this->dead );
	}

	public function test_the_page_explains_in_one_sentence() {
		ob_start();
		Cachicamo_Sync_Admin_Page::render_page();
		$html = (string) ob_get_clean();
		$this->assertMatchesRegularExpression( '/<div class="notice notice-error inline" data-role="error">\s*<p data-field="error">The Cachicamo Sync sidecar is not running[^<]*cachicamo-sidecar serve[^<]*<\/p>/', $html );
		$this->assertStringContainsString( 'Force Inventory Sync', $html, 'the rest of the page still renders' );
		$this->assertStringContainsString( 'not reachable', $html );
	}

	public function test_the_button_answers_with_the_reason() {
		$reply = $this->ajax( 'cachicamo_sync_start' );
		$this->assertFalse( $reply['success'] );
		$this->assertStringContainsString( 'The Cachicamo Sync sidecar is not running', $reply['data']['message'] );
		$poll = $this->ajax( 'cachicamo_sync_status' );
		$this->assertTrue( $poll['success'] );
		$this->assertFalse( $poll['data']['ok'] );
		$this->assertStringContainsString( 'not running', $poll['data']['message'] );
	}

	public function test_a_stale_socket_is_explained_too() {
		remove_filter( 'cachicamo_sync_client', $this->dead );
		$path   = self::tmp( 'stale.sock' );
		$server = stream_socket_server( 'unix://' . $path );
		fclose( $server );
		$stale = fn() => new Cachicamo_Sync_Client( $path, 1.0 );
		add_filter( 'cachicamo_sync_client', $stale );
		$data = Cachicamo_Sync_Status::collect();
		remove_filter( 'cachicamo_sync_client', $stale );
		@unlink( $path ); // phpcs:ignore WordPress.PHP.NoSilencedErrors
		$this->assertFalse( $data['ok'] );
		$this->assertStringContainsString( 'nothing answers on', $data['message'] );
	}
}
