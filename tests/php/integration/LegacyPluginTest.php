<?php
/**
 * The old plugin and this one refuse to run side by side.
 *
 * @package Cachicamo_Sync
 */

/**
 * Side-by-side test, in a process of its own since the old plugin's class cannot be unloaded.
 *
 * @runTestsInSeparateProcesses
 * @preserveGlobalState disabled
 */
class LegacyPluginTest extends Cachicamo_Sync_Test_Case {

	public function test_with_the_old_plugin_active_nothing_is_hooked_and_a_notice_says_why() {
		$this->assertFalse( Cachicamo_Sync_Plugin::legacy_plugin_active() );
		eval( 'class CachicamoApp_For_Woo {}' ); // phpcs:ignore Squiz.PHP.Eval -- stands for the old plugin's main class.
		$this->assertTrue( Cachicamo_Sync_Plugin::legacy_plugin_active() );

		remove_all_actions( 'cachicamoapp_process_batch_queue' );
		remove_all_actions( 'admin_notices' );
		Cachicamo_Sync_Plugin::instance()->load();
		$this->assertFalse( has_action( 'cachicamoapp_process_batch_queue' ), 'no cron handler while the old plugin runs' );

		self::login_as( 'admin' );
		ob_start();
		do_action( 'admin_notices' );
		$html = (string) ob_get_clean();
		$this->assertStringContainsString( 'deactivate the old plugin', $html );
	}
}
