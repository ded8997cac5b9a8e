<?php
/**
 * WooCommerce → Settings → Integration → Cachicamo App. Same integration id and option as the
 * old plugin, so its settings carry over. Validation lives in Cachicamo_Sync_Settings; this
 * class only describes the form. Loaded only when WooCommerce asks for integrations.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The settings screen.
 */
class Cachicamo_Sync_Integration extends WC_Integration {

	/**
	 * Sets up the screen.
	 */
	public function __construct() {
		$this->id                 = Cachicamo_Sync_Settings::INTEGRATION_ID;
		$this->method_title       = __( 'Cachicamo App', 'cachicamo-sync' );
		$this->method_description = __( 'Stock and prices come from Cachicamo App through the Cachicamo Sync sidecar.', 'cachicamo-sync' );
		$this->init_form_fields();
		$this->init_settings();
		add_action( 'woocommerce_update_options_integration_' . $this->id, array( $this, 'process_admin_options' ) );
	}

	/**
	 * The fields, under the old plugin's keys plus the new ones.
	 */
	public function init_form_fields() {
		$this->form_fields = array(
			'access_token'             => array(
				'title'       => __( 'Access token', 'cachicamo-sync' ),
				'type'        => 'cachicamo_secret',
				'description' => __( 'From Cachicamo App. Leave empty to keep the saved token.', 'cachicamo-sync' ),
			),
			'store_uuid'               => array(
				'title' => __( 'Store UUID', 'cachicamo-sync' ),
				'type'  => 'text',
			),
			'price_type'               => array(
				'title'   => __( 'Price', 'cachicamo-sync' ),
				'type'    => 'select',
				'default' => 'retail',
				'options' => array(
					'retail'   => __( 'Retail', 'cachicamo-sync' ),
					'min_sale' => __( 'Minimum sale', 'cachicamo-sync' ),
					'base'     => __( 'Base', 'cachicamo-sync' ),
				),
			),
			'cron_time'                => array(
				'title'       => __( 'Sync interval (minutes)', 'cachicamo-sync' ),
				'type'        => 'number',
				'default'     => '720',
				'description' => __( 'A full sync runs this often; at least 10 minutes.', 'cachicamo-sync' ),
				'custom_attributes' => array(
					'min' => Cachicamo_Sync_Settings::MIN_INTERVAL,
					'max' => Cachicamo_Sync_Settings::MAX_INTERVAL,
				),
			),
			'socket_path'              => array(
				'title'       => __( 'Sidecar socket', 'cachicamo-sync' ),
				'type'        => 'text',
				'default'     => Cachicamo_Sync_Settings::DEFAULT_SOCKET,
				'description' => __( 'Where the Cachicamo Sync sidecar listens (its --socket).', 'cachicamo-sync' ),
			),
			'debug'                    => array(
				'title'   => __( 'Debug log', 'cachicamo-sync' ),
				'type'    => 'checkbox',
				'label'   => __( 'Log every sidecar call in WooCommerce → Status → Logs', 'cachicamo-sync' ),
				'default' => 'no',
			),
			'alert_webhook_url'        => array(
				'title'       => __( 'Alert webhook', 'cachicamo-sync' ),
				'type'        => 'url',
				'default'     => '',
				'placeholder' => 'https://',
				'description' => __( 'Optional. Alerts are e-mailed to the site admin; with an address here they are also POSTed to it as JSON, when raised and when cleared.', 'cachicamo-sync' ),
			),
			'delete_data_on_uninstall' => array(
				'title'   => __( 'Uninstall', 'cachicamo-sync' ),
				'type'    => 'checkbox',
				'label'   => __( 'Delete the settings, queue and sync history when the plugin is deleted', 'cachicamo-sync' ),
				'default' => 'no',
			),
			'panel'                    => array(
				'title' => __( 'Inventory sync', 'cachicamo-sync' ),
				'type'  => 'cachicamo_panel',
			),
		);
	}

	/**
	 * A password input that is never filled in, so the token never goes back to a browser.
	 *
	 * @param string $key  Field key.
	 * @param array  $data Field definition.
	 * @return string
	 */
	public function generate_cachicamo_secret_html( $key, $data ) {
		$field = $this->get_field_key( $key );
		$saved = '' !== (string) $this->get_option( $key );
		ob_start();
		?>
		<tr valign="top">
			<th scope="row" class="titledesc"><label for="<?php echo esc_attr( $field ); ?>"><?php echo esc_html( $data['title'] ); ?></label></th>
			<td class="forminp">
				<input class="input-text regular-input" type="password" autocomplete="new-password" name="<?php echo esc_attr( $field ); ?>" id="<?php echo esc_attr( $field ); ?>" value=""
					placeholder="<?php echo esc_attr( $saved ? __( 'Saved — type a new one to replace it', 'cachicamo-sync' ) : '' ); ?>" />
				<p class="description"><?php echo esc_html( $data['description'] ); ?></p>
			</td>
		</tr>
		<?php
		return (string) ob_get_clean();
	}

	/**
	 * The live sync panel inside the settings table.
	 *
	 * @param string $key  Field key.
	 * @param array  $data Field definition.
	 * @return string
	 */
	public function generate_cachicamo_panel_html( $key, $data ) {
		ob_start();
		echo '<tr valign="top"><th scope="row" class="titledesc">' . esc_html( $data['title'] ) . '</th><td class="forminp">';
		Cachicamo_Sync_Admin_Page::render_panel( Cachicamo_Sync_Status::collect() );
		echo '</td></tr>';
		return (string) ob_get_clean();
	}

	/**
	 * Saves through Cachicamo_Sync_Settings; on an error nothing is saved and WooCommerce shows
	 * each message above the form.
	 *
	 * @return bool
	 */
	public function process_admin_options() {
		$input = array();
		foreach ( array_keys( Cachicamo_Sync_Settings::defaults() ) as $key ) {
			$field = $this->get_field_key( $key );
			// phpcs:ignore WordPress.Security.NonceVerification.Missing -- WooCommerce checked the settings nonce before calling this.
			if ( isset( $_POST[ $field ] ) ) {
				// phpcs:ignore WordPress.Security.NonceVerification.Missing, WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- validated in Cachicamo_Sync_Settings::sanitize().
				$input[ $key ] = wp_unslash( $_POST[ $field ] );
			} elseif ( in_array( $key, array( 'debug', 'delete_data_on_uninstall' ), true ) ) {
				$input[ $key ] = 'no';
			}
		}
		$errors = Cachicamo_Sync_Settings::save( $input );
		foreach ( $errors as $error ) {
			WC_Admin_Settings::add_error( $error );
		}
		$this->init_settings();
		return ! $errors;
	}
}
