//! Deterministic generation of the catalog: store state before the sync, the
//! Cachicamo items and the state expected after it. Pure, no I/O.

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::Rng;
use rust_decimal::Decimal;

use super::SeedOptions;
use crate::dataset::ProductKind;
use crate::money::{php_price, with_tax};

/// The sale price every seeded sale product carries, stored as WooCommerce
/// keeps it (zeros included).
pub(crate) const SALE_PRICE: &str = "1.00";
const SALE_CENTS: i64 = 100;

/// How the `_sku` meta of a product is stored.
#[derive(Debug, Clone)]
pub(crate) enum SkuMeta {
    Value(String),
    /// A `_sku` row holding ''.
    Empty,
    /// No `_sku` row at all.
    Absent,
}

impl SkuMeta {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            SkuMeta::Value(s) => s,
            SkuMeta::Empty | SkuMeta::Absent => "",
        }
    }
}

/// Which tax an item points to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tax {
    /// T8, IVA reduced.
    Reduced,
    /// T16, IVA general.
    General,
    /// `tax_uuid` null: the store default (T16) applies.
    StoreDefault,
}

impl Tax {
    fn percent(self) -> u32 {
        match self {
            Tax::Reduced => 8,
            Tax::General | Tax::StoreDefault => 16,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Billable {
    Whole(i64),
    /// One decimal, e.g. 3.7 or 0.5.
    Tenths(i64),
}

impl Billable {
    /// `max(0, floor(billable))`.
    fn stock(self) -> i64 {
        match self {
            Billable::Whole(n) => n.max(0),
            Billable::Tenths(t) => t.div_euclid(10).max(0),
        }
    }

    pub(crate) fn to_json(self) -> serde_json::Value {
        match self {
            Billable::Whole(n) => n.into(),
            // One decimal always has an exact shortest f64 form ("3.7").
            Billable::Tenths(t) => (t as f64 / 10.0).into(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub uuid: String,
    pub tax: Tax,
    pub retail_cents: i64,
    pub billable: Billable,
}

/// Stock and prices of a simple product, virtual product or variation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeafState {
    /// `None` for virtual products (no `_stock` row).
    pub stock: Option<i64>,
    pub regular: Decimal,
    pub on_sale: bool,
}

impl LeafState {
    pub(crate) fn status(&self) -> &'static str {
        match self.stock {
            Some(s) if s <= 0 => "outofstock",
            _ => "instock",
        }
    }

    pub(crate) fn regular_str(&self) -> String {
        php_price(self.regular)
    }

    pub(crate) fn price(&self) -> Decimal {
        if self.on_sale {
            Decimal::new(SALE_CENTS, 2)
        } else {
            self.regular
        }
    }

    pub(crate) fn price_str(&self) -> String {
        if self.on_sale {
            SALE_PRICE.to_owned()
        } else {
            self.regular_str()
        }
    }
}

/// What WooCommerce's variable sync derives from the published children.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParentState {
    /// Distinct child `_price` values, ascending, as the children store them.
    pub prices: Vec<(Decimal, String)>,
    pub instock: bool,
}

impl ParentState {
    fn from_children<'a>(children: impl Iterator<Item = &'a LeafState>) -> Self {
        let mut prices: Vec<(Decimal, String)> = Vec::new();
        let mut instock = false;
        for child in children {
            instock |= child.status() == "instock";
            let price = child.price();
            if !prices.iter().any(|(p, _)| *p == price) {
                prices.push((price, child.price_str()));
            }
        }
        prices.sort_by_key(|p| p.0);
        ParentState { prices, instock }
    }

    pub(crate) fn status(&self) -> &'static str {
        if self.instock {
            "instock"
        } else {
            "outofstock"
        }
    }

    pub(crate) fn min(&self) -> Option<Decimal> {
        self.prices.first().map(|p| p.0)
    }

    pub(crate) fn max(&self) -> Option<Decimal> {
        self.prices.last().map(|p| p.0)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Values {
    Leaf {
        current: LeafState,
        expected: LeafState,
    },
    Parent {
        current: ParentState,
        expected: ParentState,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub id: u64,
    pub parent_id: u64,
    pub kind: ProductKind,
    /// `publish`, or `private` for a disabled variation.
    pub published: bool,
    pub title: String,
    pub sku: SkuMeta,
    pub item: Option<Item>,
    pub differs: bool,
    pub values: Values,
}

impl Product {
    pub(crate) fn post_status(&self) -> &'static str {
        if self.published {
            "publish"
        } else {
            "private"
        }
    }
}

/// Skeleton of a product before values are drawn.
struct Shell {
    id: u64,
    parent_id: u64,
    kind: ProductKind,
    published: bool,
    title: String,
    normal_sku: String,
}

fn fraction_count(len: usize, fraction: f64) -> usize {
    // Fractions are validated to 0..=1, so the result is at most `len`.
    ((len as f64) * fraction).round() as usize
}

/// Odd SKUs sprinkled at fixed positions (about 1 in 50) so even a small
/// catalog holds each kind; the id suffix keeps them unique.
fn sku_for(ordinal: usize, id: u64, normal: String) -> SkuMeta {
    if ordinal % 60 == 10 {
        return if (ordinal / 60).is_multiple_of(2) {
            SkuMeta::Absent
        } else {
            SkuMeta::Empty
        };
    }
    if ordinal % 50 == 3 {
        let odd = match (ordinal / 50) % 5 {
            0 => format!("O'Brien \"Tee\" {id}"),
            1 => format!("Café-ñ-{id}"),
            2 => format!("🦔-{id}"),
            3 => format!("RED SHIRT {id}"),
            _ => format!("BACK\\SLASH-{id}"),
        };
        return SkuMeta::Value(odd);
    }
    SkuMeta::Value(normal)
}

fn shells(opts: &SeedOptions, first_id: u64, rng: &mut StdRng) -> Vec<Shell> {
    let mut out = Vec::with_capacity(opts.simple + opts.variable * (opts.variations + 1));
    let mut id = first_id;
    for n in 1..=opts.simple {
        out.push(Shell {
            id,
            parent_id: 0,
            kind: ProductKind::Simple,
            published: true,
            title: format!("Simulated product {n}"),
            normal_sku: format!("SIM-{n:06}"),
        });
        id += 1;
    }
    for n in 1..=opts.variable {
        let parent = id;
        out.push(Shell {
            id,
            parent_id: 0,
            kind: ProductKind::Variable,
            published: true,
            title: format!("Simulated variable product {n}"),
            normal_sku: format!("VAR-{n:06}"),
        });
        id += 1;
        for v in 1..=opts.variations {
            out.push(Shell {
                id,
                parent_id: parent,
                kind: ProductKind::Variation,
                // About 1 in 10 variations is disabled.
                published: !rng.random_bool(0.1),
                title: format!("Simulated variable product {n} - Variation {v}"),
                normal_sku: format!("VAR-{n:06}-{v}"),
            });
            id += 1;
        }
    }
    out
}

fn random_uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

fn random_item(rng: &mut StdRng, min_cents: i64) -> Item {
    let tax = match rng.random_range(0..3) {
        0 => Tax::Reduced,
        1 => Tax::General,
        _ => Tax::StoreDefault,
    };
    let retail_cents = rng.random_range(min_cents..=50_000);
    let roll: f64 = rng.random();
    let billable = if roll < 0.03 {
        Billable::Whole(-rng.random_range(1..=20))
    } else if roll < 0.045 {
        // Below one unit: stock 0 and out of stock.
        Billable::Tenths(rng.random_range(1..=9))
    } else if roll < 0.06 {
        Billable::Tenths(rng.random_range(1..=50) * 10 + rng.random_range(1..=9))
    } else {
        Billable::Whole(rng.random_range(0..=200))
    };
    Item {
        uuid: random_uuid(rng),
        tax,
        retail_cents,
        billable,
    }
}

fn expected_leaf(item: &Item, is_virtual: bool, on_sale: bool) -> LeafState {
    LeafState {
        stock: (!is_virtual).then(|| item.billable.stock()),
        regular: with_tax(Decimal::new(item.retail_cents, 2), item.tax.percent()),
        on_sale,
    }
}

/// A store state that differs from `expected` in stock and regular price.
fn differing_leaf(expected: &LeafState, rng: &mut StdRng) -> LeafState {
    let stock = expected.stock.map(|s| {
        let other = rng.random_range(0..=199);
        if other >= s {
            other + 1
        } else {
            other
        }
    });
    LeafState {
        stock,
        regular: expected.regular + Decimal::new(rng.random_range(1..=5_000), 2),
        on_sale: expected.on_sale,
    }
}

fn random_leaf(rng: &mut StdRng, is_virtual: bool, on_sale: bool, min_cents: i64) -> LeafState {
    let stock = (!is_virtual).then(|| rng.random_range(0..=200));
    let cents = rng.random_range(min_cents..=50_000);
    LeafState {
        stock,
        regular: with_tax(Decimal::new(cents, 2), 16),
        on_sale,
    }
}

/// Generates the whole catalog; product ids start at `first_id`.
pub(crate) fn generate(opts: &SeedOptions, first_id: u64, rng: &mut StdRng) -> Vec<Product> {
    let mut shells = shells(opts, first_id, rng);
    for i in sample(
        rng,
        opts.simple,
        fraction_count(opts.simple, opts.virtual_fraction),
    ) {
        shells[i].kind = ProductKind::Virtual;
    }
    let missing: Vec<bool> = {
        let mut m = vec![false; shells.len()];
        for i in sample(
            rng,
            shells.len(),
            fraction_count(shells.len(), opts.missing),
        ) {
            m[i] = true;
        }
        m
    };
    let found_leaves: Vec<usize> = (0..shells.len())
        .filter(|&i| !missing[i] && shells[i].kind != ProductKind::Variable)
        .collect();
    let mut differs = vec![false; shells.len()];
    for k in sample(
        rng,
        found_leaves.len(),
        fraction_count(found_leaves.len(), opts.differ),
    ) {
        differs[found_leaves[k]] = true;
    }

    let mut products: Vec<Product> = Vec::with_capacity(shells.len());
    for (ordinal, shell) in shells.into_iter().enumerate() {
        let is_virtual = shell.kind == ProductKind::Virtual;
        let on_sale = shell.kind == ProductKind::Simple && rng.random_bool(0.05);
        // Sale products keep a regular price above the 1.00 sale price.
        let min_cents = if on_sale { 2 * SALE_CENTS } else { SALE_CENTS };
        let item = (!missing[ordinal]).then(|| random_item(rng, min_cents));
        let values = match (&item, shell.kind) {
            (_, ProductKind::Variable) => Values::Parent {
                // Filled in below, once the children exist.
                current: ParentState {
                    prices: Vec::new(),
                    instock: false,
                },
                expected: ParentState {
                    prices: Vec::new(),
                    instock: false,
                },
            },
            (Some(item), _) => {
                let expected = expected_leaf(item, is_virtual, on_sale);
                let current = if differs[ordinal] {
                    differing_leaf(&expected, rng)
                } else {
                    expected.clone()
                };
                Values::Leaf { current, expected }
            }
            (None, _) => {
                let current = random_leaf(rng, is_virtual, on_sale, min_cents);
                Values::Leaf {
                    expected: current.clone(),
                    current,
                }
            }
        };
        products.push(Product {
            id: shell.id,
            parent_id: shell.parent_id,
            kind: shell.kind,
            published: shell.published,
            sku: sku_for(ordinal, shell.id, shell.normal_sku),
            title: shell.title,
            item,
            differs: differs[ordinal],
            values,
        });
    }
    derive_parents(&mut products);
    products
}

/// Parents follow WooCommerce's variable sync over their published children.
fn derive_parents(products: &mut [Product]) {
    for i in 0..products.len() {
        if products[i].kind != ProductKind::Variable {
            continue;
        }
        let parent_id = products[i].id;
        let (mut cur, mut exp) = (Vec::new(), Vec::new());
        for child in products[i + 1..]
            .iter()
            .take_while(|c| c.parent_id == parent_id)
            .filter(|c| c.published)
        {
            if let Values::Leaf { current, expected } = &child.values {
                cur.push(current);
                exp.push(expected);
            }
        }
        let current = ParentState::from_children(cur.into_iter());
        let expected = ParentState::from_children(exp.into_iter());
        products[i].differs = current != expected;
        products[i].values = Values::Parent { current, expected };
    }
}
