<?php
/**
 * The sync panel: a Tools page of its own (so it works without WooCommerce), also shown on the
 * WooCommerce settings screen. Rendered in full on the server; the script keeps it live.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Tools → Cachicamo Sync.
 */
class Cachicamo_Sync_Admin_Page {

	const SLUG = 'cachicamo-sync';

	/**
	 * Hooks the menu entry and the assets.
	 */
	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'add_page' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
	}

	/**
	 * The panel's address, for notices and e-mails.
	 *
	 * @return string
	 */
	public static function url() {
		return admin_url( 'tools.php?page=' . self::SLUG );
	}

	/**
	 * Adds the page under Tools.
	 */
	public static function add_page() {
		add_management_page(
			__( 'Cachicamo Sync', 'cachicamo-sync' ),
			__( 'Cachicamo Sync', 'cachicamo-sync' ),
			Cachicamo_Sync_Plugin::capability(),
			self::SLUG,
			array( __CLASS__, 'render_page' )
		);
	}

	/**
	 * Loads the panel's script and style on the two screens that show it.
	 *
	 * @param string $hook_suffix The current admin page.
	 */
	public static function enqueue( $hook_suffix ) {
		$on_tools    = 'tools_page_' . self::SLUG === $hook_suffix;
		$on_settings = 'woocommerce_page_wc-settings' === $hook_suffix;
		if ( ! $on_tools && ! $on_settings ) {
			return;
		}
		$url = plugin_dir_url( CACHICAMO_SYNC_FILE ) . 'assets/';
		wp_enqueue_style( 'cachicamo-sync-admin', $url . 'admin.css', array(), CACHICAMO_SYNC_VERSION );
		wp_enqueue_script( 'cachicamo-sync-admin', $url . 'admin.js', array(), CACHICAMO_SYNC_VERSION, true );
		wp_localize_script(
			'cachicamo-sync-admin',
			'cachicamoSync',
			array(
				'ajaxUrl' => admin_url( 'admin-ajax.php' ),
				'nonce'   => wp_create_nonce( Cachicamo_Sync_Ajax::NONCE_ACTION ),
				'i18n'    => array(
					'batches'   => __( '%1$d of %2$d batches', 'cachicamo-sync' ),
					'never'     => __( 'never', 'cachicamo-sync' ),
					'noFailed'  => __( 'No failed batches.', 'cachicamo-sync' ),
					'noChanges' => __( 'No changes yet.', 'cachicamo-sync' ),
					'noAlerts'  => __( 'No active alerts.', 'cachicamo-sync' ),
					'noHistory' => __( 'No alerts yet.', 'cachicamo-sync' ),
					'active'    => __( 'still active', 'cachicamo-sync' ),
					'noRuns'    => __( 'No runs yet.', 'cachicamo-sync' ),
					/* translators: %s: a duration, e.g. 12 s. */
					'longest'   => __( 'Tallest bar: %s', 'cachicamo-sync' ),
					/* translators: 1: what the alert is about, 2: its sentence, 3: since when. */
					'alert'     => __( '%1$s: %2$s (since %3$s)', 'cachicamo-sync' ),
					'starting'  => __( 'Starting…', 'cachicamo-sync' ),
					'failed'    => __( 'The request failed: reload the page and try again.', 'cachicamo-sync' ),
				),
			)
		);
	}

	/**
	 * The Tools page.
	 */
	public static function render_page() {
		if ( ! current_user_can( Cachicamo_Sync_Plugin::capability() ) ) {
			wp_die( esc_html__( 'You are not allowed to manage Cachicamo Sync.', 'cachicamo-sync' ) );
		}
		echo '<div class="wrap"><h1>' . esc_html__( 'Cachicamo Sync', 'cachicamo-sync' ) . '</h1>';
		self::render_panel( Cachicamo_Sync_Status::collect() );
		echo '</div>';
	}

	/**
	 * The panel for a collected status.
	 *
	 * @param array $data See Cachicamo_Sync_Status::collect().
	 */
	public static function render_panel( array $data ) {
		$run     = $data['run'] ?? null;
		$percent = $run ? (int) $run['percent'] : 0;
		?>
		<div id="cachicamo-sync-panel" class="cachicamo-sync-panel" data-running="<?php echo ! empty( $data['running'] ) ? '1' : '0'; ?>">
			<div class="notice notice-error inline" data-role="error"<?php echo empty( $data['ok'] ) ? '' : ' hidden'; ?>>
				<p data-field="error"><?php echo esc_html( $data['message'] ?? '' ); ?></p>
			</div>
			<div class="notice notice-info inline" data-role="info" hidden><p data-field="info"></p></div>
			<p>
				<button type="button" class="button button-primary" data-action="start"><?php esc_html_e( 'Force Inventory Sync', 'cachicamo-sync' ); ?></button>
				<span class="cachicamo-sync-state" data-field="run_status"><?php echo esc_html( $run ? str_replace( '_', ' ', $run['status'] ) : '' ); ?></span>
			</p>
			<div class="cachicamo-sync-progress" role="progressbar" aria-label="<?php esc_attr_e( 'Sync progress', 'cachicamo-sync' ); ?>" aria-valuemin="0" aria-valuemax="100" aria-valuenow="<?php echo esc_attr( (string) $percent ); ?>">
				<div class="cachicamo-sync-progress-bar" style="width: <?php echo esc_attr( (string) $percent ); ?>%"></div>
				<span class="cachicamo-sync-progress-label" data-field="percent"><?php echo esc_html( $percent . '%' ); ?></span>
			</div>
			<p data-field="batches">
				<?php
				if ( $run ) {
					/* translators: 1: batches done, 2: all batches. */
					echo esc_html( sprintf( __( '%1$d of %2$d batches', 'cachicamo-sync' ), $run['batches_done'], $run['total_batches'] ) );
				}
				?>
			</p>
			<div class="cachicamo-sync-columns">
				<div>
					<h3><?php esc_html_e( 'Run totals', 'cachicamo-sync' ); ?></h3>
					<table class="widefat striped cachicamo-sync-totals">
						<tbody>
						<?php
						$rows = array(
							'synced'    => __( 'SKUs synced', 'cachicamo-sync' ),
							'changed'   => __( 'Changed', 'cachicamo-sync' ),
							'errors'    => __( 'Errors', 'cachicamo-sync' ),
							'not_found' => __( 'Not found in Cachicamo', 'cachicamo-sync' ),
							'conflicts' => __( 'Conflicts (changed in the shop meanwhile)', 'cachicamo-sync' ),
						);
						foreach ( $rows as $field => $label ) {
							printf(
								'<tr><th scope="row">%s</th><td data-field="%s">%s</td></tr>',
								esc_html( $label ),
								esc_attr( $field ),
								esc_html( $run ? number_format_i18n( $run[ $field ] ) : '–' )
							);
						}
						?>
						</tbody>
					</table>
				</div>
				<div>
					<h3><?php esc_html_e( 'Operations', 'cachicamo-sync' ); ?></h3>
					<?php self::render_figures( $data['metrics']['figures'] ?? array() ); ?>
				</div>
			</div>
			<p class="cachicamo-sync-meta">
				<span data-field="engine"><?php echo esc_html( $data['engine_text'] ?? '' ); ?></span>
				&middot;
				<?php esc_html_e( 'Last sync:', 'cachicamo-sync' ); ?>
				<span data-field="last_sync"><?php echo esc_html( '' !== $data['last_sync'] ? $data['last_sync'] : __( 'never', 'cachicamo-sync' ) ); ?></span>
				&middot;
				<?php esc_html_e( 'Sidecar:', 'cachicamo-sync' ); ?>
				<span data-field="health"><?php echo esc_html( Cachicamo_Sync_Status::health_text( $data ) ); ?></span>
			</p>
			<?php
			self::render_chart( $data['metrics']['chart'] ?? null );
			self::render_alerts( $data['alerts'] ?? array(), $data['alert_history'] ?? array() );
			?>
			<h2><?php esc_html_e( 'Failed batches', 'cachicamo-sync' ); ?></h2>
			<ul class="cachicamo-sync-failed" data-list="failed_batches">
				<?php
				if ( empty( $data['failed_batches'] ) ) {
					echo '<li>' . esc_html__( 'No failed batches.', 'cachicamo-sync' ) . '</li>';
				} else {
					foreach ( $data['failed_batches'] as $batch ) {
						/* translators: 1: batch number, 2: batch count, 3: the reason. */
						echo '<li>' . esc_html( sprintf( __( 'Batch %1$d of %2$d: %3$s', 'cachicamo-sync' ), $batch['number'], $batch['total'], $batch['message'] ) ) . '</li>';
					}
				}
				?>
			</ul>
			<p><button type="button" class="button" data-action="retry"<?php echo empty( $data['failed_batches'] ) ? ' disabled' : ''; ?>><?php esc_html_e( 'Retry failed', 'cachicamo-sync' ); ?></button></p>
			<h2><?php esc_html_e( 'Recent changes', 'cachicamo-sync' ); ?></h2>
			<table class="widefat striped cachicamo-sync-changes">
				<thead><tr>
					<th><?php esc_html_e( 'Product', 'cachicamo-sync' ); ?></th>
					<th><?php esc_html_e( 'SKU', 'cachicamo-sync' ); ?></th>
					<th><?php esc_html_e( 'Stock', 'cachicamo-sync' ); ?></th>
					<th><?php esc_html_e( 'Price', 'cachicamo-sync' ); ?></th>
				</tr></thead>
				<tbody data-list="recent_changes">
				<?php
				if ( empty( $data['recent_changes'] ) ) {
					echo '<tr><td colspan="4">' . esc_html__( 'No changes yet.', 'cachicamo-sync' ) . '</td></tr>';
				} else {
					foreach ( $data['recent_changes'] as $change ) {
						printf(
							'<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>',
							esc_html( '' !== $change['name'] ? $change['name'] : '#' . $change['product_id'] ),
							esc_html( $change['sku'] ),
							esc_html( self::arrow( $change['old_stock'], $change['new_stock'] ) ),
							esc_html( self::arrow( $change['old_price'], $change['new_price'] ) )
						);
					}
				}
				?>
				</tbody>
			</table>
		</div>
		<?php
	}

	/**
	 * The operations figures, each cell named for the poll to refresh.
	 *
	 * @param array $figures Name => text, from Cachicamo_Sync_Metrics::view().
	 */
	private static function render_figures( array $figures ) {
		echo '<table class="widefat striped cachicamo-sync-metrics"><tbody>';
		foreach ( Cachicamo_Sync_Metrics::labels() as $name => $label ) {
			printf(
				'<tr><th scope="row">%s</th><td data-metric="%s">%s</td></tr>',
				esc_html( $label ),
				esc_attr( $name ),
				esc_html( $figures[ $name ] ?? '–' )
			);
		}
		echo '</tbody></table>';
	}

	/**
	 * The recent runs as bars: height is duration, colour is status, the tooltip tells the rest.
	 *
	 * @param array|null $chart From Cachicamo_Sync_Metrics::view(), or null without the sidecar.
	 */
	private static function render_chart( $chart ) {
		$chart  = $chart ? $chart : array(
			'width'   => Cachicamo_Sync_Metrics::CHART_RUNS * Cachicamo_Sync_Metrics::CHART_SLOT,
			'height'  => Cachicamo_Sync_Metrics::CHART_HEIGHT,
			'longest' => '',
			'bars'    => array(),
		);
		$legend = array(
			'completed'             => __( 'completed', 'cachicamo-sync' ),
			'completed_with_errors' => __( 'with errors', 'cachicamo-sync' ),
			'failed'                => __( 'failed', 'cachicamo-sync' ),
			'cancelled'             => __( 'cancelled', 'cachicamo-sync' ),
			'running'               => __( 'running', 'cachicamo-sync' ),
		);
		/* translators: %d: number of runs. */
		echo '<h2>' . esc_html( sprintf( __( 'Last %d runs', 'cachicamo-sync' ), Cachicamo_Sync_Metrics::CHART_RUNS ) ) . '</h2>';
		echo '<figure class="cachicamo-sync-chart">';
		printf(
			'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %1$d %2$d" preserveAspectRatio="none" role="img" aria-label="%3$s"><line class="cachicamo-sync-chart-axis" x1="0" y1="%2$d" x2="%1$d" y2="%2$d" /><g data-list="chart">',
			(int) $chart['width'],
			(int) $chart['height'],
			esc_attr__( 'Duration of each recent run, oldest on the left', 'cachicamo-sync' )
		);
		foreach ( $chart['bars'] as $bar ) {
			printf(
				'<rect class="cachicamo-sync-bar cachicamo-sync-bar-%s" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>',
				esc_attr( $bar['status'] ),
				esc_attr( (string) $bar['x'] ),
				esc_attr( (string) $bar['y'] ),
				esc_attr( (string) $bar['width'] ),
				esc_attr( (string) $bar['height'] ),
				esc_html( $bar['title'] )
			);
		}
		echo '</g></svg><figcaption>';
		foreach ( $legend as $status => $label ) {
			printf( '<span class="cachicamo-sync-legend cachicamo-sync-bar-%s">%s</span>', esc_attr( $status ), esc_html( $label ) );
		}
		printf(
			'<span class="cachicamo-sync-chart-note" data-field="chart_note">%s</span>',
			/* translators: %s: a duration, e.g. 12 s. */
			esc_html( '' !== $chart['longest'] ? sprintf( __( 'Tallest bar: %s', 'cachicamo-sync' ), $chart['longest'] ) : __( 'No runs yet.', 'cachicamo-sync' ) )
		);
		echo '</figcaption></figure>';
	}

	/**
	 * The active alerts, then the recent ones with when they were raised and cleared.
	 *
	 * @param array $active  Alert views.
	 * @param array $history Alert views, newest first.
	 */
	private static function render_alerts( array $active, array $history ) {
		echo '<h2>' . esc_html__( 'Alerts', 'cachicamo-sync' ) . '</h2>';
		echo '<ul class="cachicamo-sync-alerts" data-list="alerts">';
		if ( ! $active ) {
			echo '<li>' . esc_html__( 'No active alerts.', 'cachicamo-sync' ) . '</li>';
		}
		foreach ( $active as $alert ) {
			printf(
				'<li class="cachicamo-sync-alert">%s</li>',
				/* translators: 1: what the alert is about, 2: its sentence, 3: since when. */
				esc_html( sprintf( __( '%1$s: %2$s (since %3$s)', 'cachicamo-sync' ), $alert['title'], $alert['message'], $alert['raised'] ) )
			);
		}
		echo '</ul>';
		?>
		<table class="widefat striped cachicamo-sync-alert-history">
			<thead><tr>
				<th><?php esc_html_e( 'Raised', 'cachicamo-sync' ); ?></th>
				<th><?php esc_html_e( 'Alert', 'cachicamo-sync' ); ?></th>
				<th><?php esc_html_e( 'Message', 'cachicamo-sync' ); ?></th>
				<th><?php esc_html_e( 'Cleared', 'cachicamo-sync' ); ?></th>
			</tr></thead>
			<tbody data-list="alert_history">
			<?php
			if ( ! $history ) {
				echo '<tr><td colspan="4">' . esc_html__( 'No alerts yet.', 'cachicamo-sync' ) . '</td></tr>';
			}
			foreach ( $history as $alert ) {
				printf(
					'<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>',
					esc_html( $alert['raised'] ),
					esc_html( $alert['title'] ),
					esc_html( $alert['message'] ),
					esc_html( '' !== $alert['cleared'] ? $alert['cleared'] : __( 'still active', 'cachicamo-sync' ) )
				);
			}
			?>
			</tbody>
		</table>
		<?php
	}

	/**
	 * "old → new", or an empty cell when the value did not change.
	 *
	 * @param string $old Old value.
	 * @param string $new New value.
	 * @return string
	 */
	public static function arrow( $old, $new ) {
		if ( '' === $new ) {
			return '';
		}
		return ( '' === $old ? '–' : $old ) . ' → ' . $new;
	}
}
