<?php
/**
 * WP-Cron as a shop with DISABLE_WP_CRON runs it, through the real WP-CLI: the old plugin's
 * schedule and hooks, the minute tick reaching the sidecar and finalizing what it changed, the
 * full-sync event, and nothing left scheduled after deactivation.
 *
 * @package Cachicamo_Sync
 */

/**
 * Cron tests.
 */
class CronTest extends Cachicamo_Sync_Test_Case {

	/**
	 * The site's events of this plugin, as `wp cron event list` reports them.
	 *
	 * @param array $options See wp().
	 * @return array hook => rows.
	 */
	private static function events( array $options = array() ) {
		$events = array();
		foreach ( self::json_of( self::wp_ok( array( 'cron', 'event', 'list', '--format=json', '--fields=hook,next_run_gmt,recurrence' ), $options ) ) as $event ) {
			if ( str_starts_with( $event['hook'], 'cachicamo' ) ) {
				$events[ $event['hook'] ][] = $event;
			}
		}
		return $events;
	}

	public function test_the_minute_schedule_and_both_hooks_are_scheduled() {
		$schedules = wp_list_pluck( self::json_of( self::wp_ok( array( 'cron', 'schedule', 'list', '--format=json' ) ) ), 'interval', 'name' );
		$this->assertSame( 60, $schedules['cachicamoapp_one_minute'] ?? null );
		$events = self::events();
		$this->assertCount( 1, $events['cachicamoapp_process_batch_queue'] ?? array(), 'one minute tick' );
		$this->assertSame( '1 minute', $events['cachicamoapp_process_batch_queue'][0]['recurrence'] );
		$this->assertCount( 1, $events['cachicamoapp_update_stock_from_api'] ?? array(), 'one full sync planned' );
		$this->assertSame( 'Non-repeating', $events['cachicamoapp_update_stock_from_api'][0]['recurrence'] );
	}

	public function test_deactivation_unschedules_and_activation_schedules_once() {
		$store = $this->scratch_store( 'cron' );
		$site  = array( 'path' => $store['dir'] );
		$this->assertStringContainsString( "Plugin 'cachicamo-sync' deactivated.", self::wp_ok( array( 'plugin', 'deactivate', 'cachicamo-sync' ), $site ) );
		$this->assertSame( array(), self::events( $site ), 'nothing of the plugin stays scheduled' );
		$this->assertStringContainsString( "Plugin 'cachicamo-sync' activated.", self::wp_ok( array( 'plugin', 'activate', 'cachicamo-sync' ), $site ) );
		// Listing loads WordPress again, whose init must not add a second tick beside the activation's.
		$events = self::events( $site );
		$this->assertCount( 1, $events['cachicamoapp_process_batch_queue'] ?? array() );
		$this->assertCount( 1, $events['cachicamoapp_update_stock_from_api'] ?? array() );
	}

	public function test_the_tick_finalizes_what_the_sidecar_changed_and_starts_no_run_when_not_due() {
		self::settle();
		$products = array_slice( self::expected( 'simple' ), 50, 3 );
		foreach ( $products as $p ) {
			$product = wc_get_product( $p['product_id'] );
			$product->set_stock_quantity( 4321 );
			$product->save();
		}
		self::client()->start_sync( 'cli' );
		$run     = self::wait_for_idle();
		$pending = array_map( 'intval', array_column( self::client()->list_changes( 1000, 0, false )['changes'], 'product_id' ) );
		foreach ( $products as $p ) {
			$this->assertContains( $p['product_id'], $pending, 'the change waits for WordPress' );
		}

		$stock = array();
		$out   = self::wp_ok( array( 'cron', 'event', 'run', 'cachicamoapp_process_batch_queue' ) );
		$this->assertMatchesRegularExpression( "/^Executed the cron event 'cachicamoapp_process_batch_queue' in [\d.]+s\.$/m", $out );
		$this->assertStringContainsString( 'Success: Executed a total of 1 cron event.', $out );
		$this->assertSame( array(), self::client()->list_changes( 10, 0, false )['changes'], 'the tick finalized every change' );
		$this->assertSame( $run['id'], self::client()->get_status()['last_run']['id'], 'a run just completed: the interval has not passed' );
		foreach ( $products as $p ) {
			$stock[ $p['product_id'] ] = wc_get_product( $p['product_id'] )->get_stock_quantity();
		}
		$this->assertSame( array_combine( array_column( $products, 'product_id' ), array_column( $products, 'stock' ) ), $stock, 'WooCommerce reads the synced stock' );
		$this->assertCount( 1, self::events()['cachicamoapp_process_batch_queue'], 'the tick is scheduled again' );
	}

	public function test_the_full_sync_event_plans_the_next_one() {
		$before = self::settle()['id'];
		$out    = self::wp_ok( array( 'cron', 'event', 'run', 'cachicamoapp_update_stock_from_api' ) );
		$this->assertStringContainsString( "Executed the cron event 'cachicamoapp_update_stock_from_api'", $out );
		$this->assertSame( $before, self::client()->get_status()['last_run']['id'], 'the sidecar judged no run due yet' );
		$next = self::events()['cachicamoapp_update_stock_from_api'] ?? array();
		$this->assertCount( 1, $next );
		$this->assertEqualsWithDelta( time() + Cachicamo_Sync_Settings::interval_minutes() * MINUTE_IN_SECONDS, strtotime( $next[0]['next_run_gmt'] . ' UTC' ), 60 );
	}
}
