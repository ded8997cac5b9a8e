//! Reading the products a sync covers: published simple and variable products and the
//! variations of published variable products, each with its SKU and `WC-<id>` alias.

use futures::TryStreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Params;

use super::{placeholders, SqlContext, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductKind {
    Simple,
    Variable,
    Variation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProduct {
    pub id: u64,
    /// The variable product of a variation; 0 otherwise.
    pub parent_id: u64,
    pub kind: ProductKind,
    /// The trimmed, non-empty `_sku`.
    pub sku: Option<String>,
}

/// The key Cachicamo knows every WooCommerce product by, SKU or not.
pub fn alias_for(id: u64) -> String {
    format!("WC-{id}")
}

impl CatalogProduct {
    /// The keys sent to Cachicamo for this product: its SKU, then its alias.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::with_capacity(2);
        if let Some(sku) = &self.sku {
            keys.push(sku.clone());
        }
        keys.push(alias_for(self.id));
        keys
    }

    /// The key a person recognises the product by.
    pub fn label(&self) -> String {
        match &self.sku {
            Some(sku) => format!("product {} (SKU {sku:?})", self.id),
            None => format!("product {} ({})", self.id, alias_for(self.id)),
        }
    }
}

type CatalogRow = (u64, u64, String, String, Option<Vec<u8>>, Option<String>, Option<String>);

fn select_products(posts: &str, postmeta: &str, tr: &str, tt: &str, terms: &str, filter: &str) -> String {
    // The type of a variation is its parent's; sorting keeps each parent just before its children.
    format!(
        "SELECT p.ID, p.post_parent, p.post_type, p.post_status,
            (SELECT pm.meta_value FROM {postmeta} pm WHERE pm.post_id = p.ID AND pm.meta_key = '_sku' ORDER BY pm.meta_id LIMIT 1),
            (SELECT t.slug FROM {tr} tr
                JOIN {tt} tt ON tt.term_taxonomy_id = tr.term_taxonomy_id AND tt.taxonomy = 'product_type'
                JOIN {terms} t ON t.term_id = tt.term_id
              WHERE tr.object_id = IF(p.post_type = 'product_variation', p.post_parent, p.ID) LIMIT 1),
            par.post_status
         FROM {posts} p
         LEFT JOIN {posts} par ON par.ID = p.post_parent AND p.post_type = 'product_variation'
         WHERE {filter}
         ORDER BY IF(p.post_type = 'product_variation', p.post_parent, p.ID), p.post_type = 'product_variation', p.ID"
    )
}

fn to_product(row: CatalogRow) -> Option<CatalogProduct> {
    let (id, parent, post_type, status, sku, ptype, parent_status) = row;
    let sku = sku.map(|s| String::from_utf8_lossy(&s).trim().to_owned()).filter(|s| !s.is_empty());
    let ptype = ptype.as_deref().unwrap_or("simple");
    let kind = match post_type.as_str() {
        "product" if status == "publish" && ptype == "simple" => ProductKind::Simple,
        "product" if status == "publish" && ptype == "variable" => ProductKind::Variable,
        "product_variation"
            if (status == "publish" || status == "private")
                && ptype == "variable"
                && parent_status.as_deref() == Some("publish") =>
        {
            ProductKind::Variation
        }
        _ => return None,
    };
    let parent_id = if kind == ProductKind::Variation { parent } else { 0 };
    Some(CatalogProduct { id, parent_id, kind, sku })
}

impl Store {
    fn product_query(&self, filter: &str) -> String {
        let t = self.tables();
        select_products(&t.posts, &t.postmeta, &t.term_relationships, &t.term_taxonomy, &t.terms, filter)
    }

    /// Streams the whole catalog in one query, keeping only what a batch needs per product.
    pub async fn read_catalog(&self) -> Result<Vec<CatalogProduct>, StoreError> {
        let mut conn = self.conn().await?;
        let sql = self.product_query(
            "(p.post_type = 'product' AND p.post_status = 'publish')
             OR (p.post_type = 'product_variation' AND p.post_status IN ('publish', 'private'))",
        );
        let mut out = Vec::new();
        let mut stream = conn.exec_stream::<CatalogRow, _, _>(sql, ()).await.ctx("reading the catalog")?;
        while let Some(row) = stream.try_next().await.ctx("reading the catalog")? {
            if let Some(p) = to_product(row) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// The products of a batch as they are now: deleted or unpublished ones are left out, and a
    /// SKU edited since planning is used in its new form.
    pub async fn load_products(&self, ids: &[u64]) -> Result<Vec<CatalogProduct>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let sql = self.product_query(&format!("p.ID IN ({})", placeholders(ids.len())));
        let rows: Vec<CatalogRow> = conn.exec(sql, Params::Positional(ids.iter().map(|&i| i.into()).collect())).await.ctx("reading a batch's products")?;
        Ok(rows.into_iter().filter_map(to_product).collect())
    }

    /// Products whose SKU (or `WC-<id>` alias) is one of these, for a selective sync.
    pub async fn find_products_by_keys(&self, keys: &[String]) -> Result<Vec<CatalogProduct>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<u64> = keys.iter().filter_map(|k| k.strip_prefix("WC-")).filter_map(|s| s.parse().ok()).collect();
        let mut conn = self.conn().await?;
        let sql = format!(
            "SELECT DISTINCT post_id FROM {} WHERE meta_key = '_sku' AND meta_value IN ({})",
            self.tables().postmeta,
            placeholders(keys.len())
        );
        let by_sku: Vec<u64> = conn.exec(sql, keys.to_vec()).await.ctx("finding products by SKU")?;
        drop(conn);
        ids.extend(by_sku);
        ids.sort_unstable();
        ids.dedup();
        self.load_products(&ids).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sku_then_alias() {
        let p = CatalogProduct { id: 7, parent_id: 0, kind: ProductKind::Simple, sku: Some("A'1 🦔".into()) };
        assert_eq!(p.keys(), vec!["A'1 🦔".to_owned(), "WC-7".to_owned()]);
        let p = CatalogProduct { sku: None, ..p };
        assert_eq!(p.keys(), vec!["WC-7".to_owned()]);
    }

    #[test]
    fn only_sellable_kinds_are_kept() {
        let row = |t: &str, s: &str, ty: Option<&str>, ps: Option<&str>| {
            to_product((5, 4, t.into(), s.into(), Some(b" X ".to_vec()), ty.map(Into::into), ps.map(Into::into)))
        };
        assert_eq!(row("product", "publish", None, None).map(|p| p.kind), Some(ProductKind::Simple));
        assert_eq!(row("product", "publish", None, None).and_then(|p| p.sku), Some("X".into()));
        assert_eq!(row("product", "draft", None, None), None);
        assert_eq!(row("product", "publish", Some("grouped"), None), None);
        assert_eq!(row("product_variation", "private", Some("variable"), Some("publish")).map(|p| p.parent_id), Some(4));
        assert_eq!(row("product_variation", "publish", Some("variable"), Some("draft")), None);
    }
}
