<?php
/**
 * Settings: the old plugin's option is read as it is; validation refuses bad values with a
 * message and saves nothing; WooCommerce lists the integration and saves through it.
 *
 * @package Cachicamo_Sync
 */

/**
 * Settings tests.
 */
class SettingsTest extends Cachicamo_Sync_Test_Case {

	public function test_the_old_plugins_settings_are_read_as_they_are() {
		$settings = Cachicamo_Sync_Settings::get();
		$this->assertSame( self::dataset()['access_token'], $settings['access_token'] );
		$this->assertSame( self::dataset()['store_uuid'], $settings['store_uuid'] );
		$this->assertSame( 'retail', $settings['price_type'] );
		$this->assertSame( 720, Cachicamo_Sync_Settings::interval_minutes() );
		$this->assertSame( getenv( 'CACHICAMO_SOCKET' ), Cachicamo_Sync_Settings::socket_path(), 'wp-config.php wins over the setting' );
	}

	public function test_valid_values_are_cleaned() {
		list( $clean, $errors ) = Cachicamo_Sync_Settings::sanitize(
			array(
				'access_token'      => '  new-token  ',
				'store_uuid'        => ' 123E4567-E89B-12D3-A456-426614174000 ',
				'cron_time'         => '60',
				'price_type'        => 'min_sale',
				'socket_path'       => '/run/other/sidecar.sock',
				'debug'             => 'yes',
				'alert_webhook_url' => ' https://hooks.example.com/cachicamo?token=a%20b ',
			),
			Cachicamo_Sync_Settings::get()
		);
		$this->assertSame( array(), $errors );
		$this->assertSame( 'new-token', $clean['access_token'] );
		$this->assertSame( '123e4567-e89b-12d3-a456-426614174000', $clean['store_uuid'] );
		$this->assertSame( '60', $clean['cron_time'] );
		$this->assertSame( 'min_sale', $clean['price_type'] );
		$this->assertSame( 'yes', $clean['debug'] );
		$this->assertSame( 'https://hooks.example.com/cachicamo?token=a%20b', $clean['alert_webhook_url'] );
	}

	public function test_an_empty_webhook_turns_it_off() {
		list( $clean, $errors ) = Cachicamo_Sync_Settings::sanitize( array( 'alert_webhook_url' => '  ' ), array( 'alert_webhook_url' => 'https://hooks.example.com/x' ) );
		$this->assertSame( array(), $errors );
		$this->assertSame( '', $clean['alert_webhook_url'] );
		$this->assertSame( '', Cachicamo_Sync_Settings::defaults()['alert_webhook_url'], 'no webhook unless asked for' );
	}

	public function test_a_blank_token_keeps_the_saved_one() {
		$current                = Cachicamo_Sync_Settings::get();
		list( $clean, $errors ) = Cachicamo_Sync_Settings::sanitize( array( 'access_token' => '' ), $current );
		$this->assertSame( array(), $errors );
		$this->assertSame( $current['access_token'], $clean['access_token'] );
	}

	/**
	 * @dataProvider bad_values
	 */
	public function test_bad_values_are_refused_with_a_message_and_nothing_is_saved( $field, $value, $message ) {
		$before = get_option( Cachicamo_Sync_Settings::OPTION );
		$errors = Cachicamo_Sync_Settings::save( array( $field => $value ) );
		$this->assertCount( 1, $errors );
		$this->assertStringContainsString( $message, $errors[0] );
		$this->assertSame( $before, get_option( Cachicamo_Sync_Settings::OPTION ), 'nothing was saved' );
	}

	public function bad_values() {
		return array(
			'interval below 10'   => array( 'cron_time', '5', 'from 10 to 10080' ),
			'interval not digits' => array( 'cron_time', '1e3', 'whole number of minutes' ),
			'interval absurd'     => array( 'cron_time', '99999999', 'whole number of minutes' ),
			'uuid'                => array( 'store_uuid', "x'; DROP TABLE wp_posts; --", 'must look like' ),
			'token with spaces'   => array( 'access_token', "two words\n", 'single line' ),
			'relative socket'     => array( 'socket_path', 'run/sidecar.sock', 'absolute path' ),
			'long socket'         => array( 'socket_path', '/' . str_repeat( 'a', 120 ), 'at most 107 bytes' ),
			'price tier'          => array( 'price_type', 'wholesale', 'Choose the base' ),
			'webhook scheme'      => array( 'alert_webhook_url', 'ftp://hooks.example.com/x', 'http:// or https://' ),
			'webhook script'      => array( 'alert_webhook_url', 'javascript:alert(1)', 'http:// or https://' ),
			'webhook no host'     => array( 'alert_webhook_url', 'https:///path', 'http:// or https://' ),
			'webhook with spaces' => array( 'alert_webhook_url', 'https://hooks.example.com/a b', 'http:// or https://' ),
			'webhook not a url'   => array( 'alert_webhook_url', 'hooks.example.com', 'http:// or https://' ),
		);
	}

	public function test_saving_a_new_interval_moves_the_next_full_sync() {
		$original = Cachicamo_Sync_Settings::get();
		$this->assertSame( array(), Cachicamo_Sync_Settings::save( array( 'cron_time' => '30' ) ) );
		$next = wp_next_scheduled( Cachicamo_Sync_Cron::FULL_SYNC_HOOK );
		$this->assertEqualsWithDelta( time() + 30 * MINUTE_IN_SECONDS, $next, 5 );
		$stored = get_option( Cachicamo_Sync_Settings::OPTION );
		$this->assertSame( '30', $stored['cron_time'] );
		$this->assertSame( $original['access_token'], $stored['access_token'], 'the old keys are kept' );
		update_option( Cachicamo_Sync_Settings::OPTION, $original );
		Cachicamo_Sync_Cron::reschedule_full_sync();
	}

	public function test_woocommerce_lists_the_integration_and_saves_through_it() {
		// WooCommerce loads its settings screen's class in wp-admin only.
		require_once WC_ABSPATH . 'includes/admin/class-wc-admin-settings.php';
		$integration = WC()->integrations->get_integrations()[ Cachicamo_Sync_Settings::INTEGRATION_ID ] ?? null;
		$this->assertInstanceOf( Cachicamo_Sync_Integration::class, $integration );
		$this->assertSame( 'Cachicamo App', $integration->get_method_title() );

		$original = get_option( Cachicamo_Sync_Settings::OPTION );
		$field    = fn( $key ) => $integration->get_field_key( $key );
		try {
			$_POST = array( $field( 'cron_time' ) => '5' );
			$this->assertFalse( $integration->process_admin_options() );
			ob_start();
			WC_Admin_Settings::show_messages();
			$this->assertStringContainsString( 'from 10 to 10080', (string) ob_get_clean(), 'WooCommerce shows the message above the form' );
			$this->assertSame( $original, get_option( Cachicamo_Sync_Settings::OPTION ), 'nothing was saved' );

			$_POST = array(
				$field( 'access_token' ) => '',
				$field( 'cron_time' )    => '45',
				$field( 'price_type' )   => 'base',
			);
			$this->assertTrue( $integration->process_admin_options() );
			$stored = get_option( Cachicamo_Sync_Settings::OPTION );
			$this->assertSame( '45', $stored['cron_time'] );
			$this->assertSame( 'base', $stored['price_type'] );
			$this->assertSame( $original['access_token'], $stored['access_token'], 'an empty token field keeps the token' );
			$this->assertSame( 'no', $stored['debug'], 'an unticked box is a no' );
		} finally {
			$_POST = array();
			update_option( Cachicamo_Sync_Settings::OPTION, $original );
			Cachicamo_Sync_Cron::reschedule_full_sync();
		}
	}
}
