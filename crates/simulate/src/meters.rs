//! The meters the simulator bills usage on: one real meter per (cloud, signal), with its list price.
//!
//! Every string comes from the sources `../shared/reference/meters.md` cites (grades in brackets: R real export row,
//! P price list, D documentation, T third-party fixture). Azure prices are the westeurope Retail Prices rows in
//! `../shared/data/catalog-sources/azure/` (first tier), which a test checks; AWS and Google prices are their public
//! on-demand list prices (2025), stated per meter. The quantity written for an amount of usage is derived from the
//! embedded meter catalog's own mapping, so the catalog reads back exactly the usage that was simulated. Azure SKU ids
//! are the price list's `skuId`; AWS and Google SKU ids are made up in their providers' shapes (no source lists them).

use catalog::{Catalog, Mapping, MeterKey};

use crate::Cloud;

/// A canonical signal the simulator produces (DESIGN.md §4), in the catalog's names and SI units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Average bytes stored over the day.
    Storage,
    /// Bytes sent out of the cloud.
    Egress,
    /// Virtual-machine hours.
    VmHours,
    /// GPU virtual-machine hours.
    GpuHours,
    /// Seconds of audio transcribed.
    Speech,
    /// Characters translated.
    Translation,
    /// Face-API transactions.
    Face,
    /// Pages read by OCR.
    Ocr,
    /// Search queries.
    Search,
    /// LLM tokens.
    LlmTokens,
    /// Marketplace spend (USD), tagged with the publisher.
    Marketplace,
}

impl Signal {
    /// Every signal, in the order usage arrays use.
    pub const ALL: [Signal; 11] = [
        Signal::Storage,
        Signal::Egress,
        Signal::VmHours,
        Signal::GpuHours,
        Signal::Speech,
        Signal::Translation,
        Signal::Face,
        Signal::Ocr,
        Signal::Search,
        Signal::LlmTokens,
        Signal::Marketplace,
    ];

    /// The catalog's name for the signal.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Storage => "storage.stored_bytes",
            Signal::Egress => "network.egress_bytes",
            Signal::VmHours => "compute.vm_hours",
            Signal::GpuHours => "compute.gpu_hours",
            Signal::Speech => "ai.speech_seconds",
            Signal::Translation => "ai.translation_chars",
            Signal::Face => "ai.face_transactions",
            Signal::Ocr => "ai.ocr_pages",
            Signal::Search => "ai.search_queries",
            Signal::LlmTokens => "ai.llm_tokens",
            Signal::Marketplace => "marketplace.publisher_cost",
        }
    }

    /// Position in usage arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One billing meter as a provider's FOCUS export writes it.
#[derive(Debug, Clone)]
pub struct Meter {
    /// The cloud.
    pub cloud: Cloud,
    /// The signal its usage feeds.
    pub signal: Signal,
    /// `ServiceName`.
    pub service_name: &'static str,
    /// `ServiceCategory` (FOCUS allowed values).
    pub service_category: &'static str,
    /// `ServiceSubcategory` (FOCUS 1.2 allowed values).
    pub service_subcategory: &'static str,
    /// `SkuMeter` (FOCUS 1.1+; Azure's MeterName).
    pub sku_meter: &'static str,
    /// `SkuId`.
    pub sku_id: &'static str,
    /// Azure `x_SkuMeterId` (MeterId); empty elsewhere.
    pub meter_id: &'static str,
    /// AWS `x_UsageType`; empty elsewhere.
    pub usage_type: &'static str,
    /// `ChargeDescription`.
    pub charge_description: &'static str,
    /// `ConsumedUnit`.
    pub consumed_unit: &'static str,
    /// `PricingUnit`.
    pub pricing_unit: &'static str,
    /// Azure `x_PricingUnitDescription` (the price list's UnitOfMeasure); empty elsewhere.
    pub unit_of_measure: &'static str,
    /// Azure `x_PricingBlockSize`; 1 elsewhere.
    pub block: f64,
    /// Pricing quantity per consumed quantity (Google prices storage per GiB-month but meters byte-seconds).
    pub pricing_per_consumed: f64,
    /// List price per pricing unit, USD.
    pub price: f64,
    /// `ResourceType`.
    pub resource_type: &'static str,
    /// Where the strings and the price come from.
    pub source: &'static str,
}

const fn m(cloud: Cloud, signal: Signal) -> Meter {
    Meter {
        cloud,
        signal,
        service_name: "",
        service_category: "",
        service_subcategory: "",
        sku_meter: "",
        sku_id: "",
        meter_id: "",
        usage_type: "",
        charge_description: "",
        consumed_unit: "",
        pricing_unit: "",
        unit_of_measure: "",
        block: 1.0,
        pricing_per_consumed: 1.0,
        price: 0.0,
        resource_type: "",
        source: "",
    }
}

/// Seconds in Google's 730-hour pricing month, for byte-seconds → GiB-months.
const GIB_MONTH_BYTE_SECONDS: f64 = 1_073_741_824.0 * 730.0 * 3600.0;

/// The meter table. Azure follows Microsoft's FOCUS export (`ConsumedQuantity` in price-list blocks, distinct units
/// from PricingUnits.csv, meters.md §4.0); AWS its FOCUS export with `x_UsageType` (§3); Google the billing export
/// fields as FOCUS converters map them (§5).
pub static METERS: &[Meter] = &[
    // ---------------------------------------------------------------- Azure (westeurope price list [P azwe])
    Meter {
        service_name: "Storage",
        service_category: "Storage",
        service_subcategory: "Object Storage",
        sku_meter: "Hot LRS Data Stored",
        sku_id: "DZH318Z0BPH7/00BJ",
        meter_id: "10e5ee74-8fd6-4972-909f-65a83f92f0ce",
        charge_description: "General Block Blob v2 - Hot LRS - Data Stored",
        consumed_unit: "GB/Month",
        pricing_unit: "GB/Month",
        unit_of_measure: "1 GB/Month",
        price: 0.0196,
        resource_type: "microsoft.storage/storageaccounts",
        source: "[P azwe storage.json] Hot LRS Data Stored, 1 GB/Month, $0.0196 first tier",
        ..m(Cloud::Azure, Signal::Storage)
    },
    Meter {
        service_name: "Bandwidth",
        service_category: "Networking",
        service_subcategory: "Network Infrastructure",
        sku_meter: "Standard Data Transfer Out",
        sku_id: "",
        meter_id: "9995d93a-7d35-4d3f-9c69-7a7fea447ef4",
        charge_description: "Rtn Preference: MGN - Standard Data Transfer Out",
        consumed_unit: "GB",
        pricing_unit: "GB",
        unit_of_measure: "1 GB",
        price: 0.087,
        resource_type: "microsoft.storage/storageaccounts",
        source: "[R ftkea, R focus] Standard Data Transfer Out, 1 GB; $0.087/GB public internet-egress list price (Zone 1, 10-50 TB tier)",
        ..m(Cloud::Azure, Signal::Egress)
    },
    Meter {
        service_name: "Virtual Machines",
        service_category: "Compute",
        service_subcategory: "Virtual Machines",
        sku_meter: "D4as v5",
        sku_id: "DZH318Z08W0T/000Z",
        meter_id: "0dd7d35c-8048-568f-9e43-7ee85f6d3408",
        charge_description: "Virtual Machines Dasv5 Series - D4as v5 - EU West",
        consumed_unit: "Hours",
        pricing_unit: "Hours",
        unit_of_measure: "1 Hour",
        price: 0.172,
        resource_type: "microsoft.compute/virtualmachines",
        source: "[P azvm] D4as v5, Virtual Machines Dasv5 Series, 1 Hour, $0.172 (eastus2 list)",
        ..m(Cloud::Azure, Signal::VmHours)
    },
    Meter {
        service_name: "Virtual Machines",
        service_category: "Compute",
        service_subcategory: "Virtual Machines",
        sku_meter: "NC48ads_A100_v4",
        sku_id: "DZH318Z09TGJ/002Q",
        meter_id: "00230cfc-461f-54a1-80ac-cdacb8293e3c",
        charge_description: "Virtual Machines NCads A100 v4 Series Linux - NC48ads_A100_v4 - EU West",
        consumed_unit: "Hours",
        pricing_unit: "Hours",
        unit_of_measure: "1 Hour",
        price: 7.346,
        resource_type: "microsoft.compute/virtualmachines",
        source: "[P azvm] NC48ads_A100_v4, NCads A100 v4 Series Linux, 1 Hour, $7.346 (eastus2 list)",
        ..m(Cloud::Azure, Signal::GpuHours)
    },
    Meter {
        service_name: "Azure Speech",
        service_category: "AI and Machine Learning",
        service_subcategory: "Natural Language Processing",
        sku_meter: "S1 Speech To Text",
        sku_id: "DZH318Z0BP4S/000F",
        meter_id: "3bd267f0-01d5-4348-ba67-70e2473f0c27",
        charge_description: "Azure Speech - S1 Speech To Text",
        consumed_unit: "Hours",
        pricing_unit: "Hours",
        unit_of_measure: "1 Hour",
        price: 1.0,
        resource_type: "microsoft.cognitiveservices/accounts",
        source: "[P azwe foundry_tools.json, mm] S1 Speech To Text, 1 Hour, $1",
        ..m(Cloud::Azure, Signal::Speech)
    },
    Meter {
        service_name: "Translator Text",
        service_category: "AI and Machine Learning",
        service_subcategory: "Natural Language Processing",
        sku_meter: "S1 Characters",
        sku_id: "DZH318Z0BQLH/002G",
        meter_id: "8555280b-a4b1-46fc-9678-b69953eb6b75",
        charge_description: "Translator Text - S1 Characters",
        consumed_unit: "Units",
        pricing_unit: "Units",
        unit_of_measure: "1M",
        block: 1_000_000.0,
        price: 10.0,
        resource_type: "microsoft.cognitiveservices/accounts",
        source: "[P azwe foundry_tools.json] S1 Characters, 1M, $10",
        ..m(Cloud::Azure, Signal::Translation)
    },
    Meter {
        service_name: "Azure Vision - Face",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "Standard Transactions",
        sku_id: "DZH318Z0BZ3Q/0010",
        meter_id: "ecff4b9d-5d93-456c-a0d0-16439bf99e65",
        charge_description: "Azure Vision - Face - Standard Transactions",
        consumed_unit: "Units",
        pricing_unit: "Units",
        unit_of_measure: "1K",
        block: 1000.0,
        price: 1.0,
        resource_type: "microsoft.cognitiveservices/accounts",
        source: "[P azwe foundry_tools.json, mm] Standard Transactions, 1K, $1 first tier",
        ..m(Cloud::Azure, Signal::Face)
    },
    Meter {
        service_name: "Azure Document Intelligence",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "S0 Read Pages",
        sku_id: "DZH318Z09G9P/0020",
        meter_id: "cd926b81-ccc0-5185-bb72-b2c301d4a3ea",
        charge_description: "Azure Document Intelligence - S0 Read Pages",
        consumed_unit: "Units",
        pricing_unit: "Units",
        unit_of_measure: "1K",
        block: 1000.0,
        price: 1.5,
        resource_type: "microsoft.cognitiveservices/accounts",
        source: "[P azwe foundry_tools.json] S0 Read Pages, 1K, $1.5 first tier",
        ..m(Cloud::Azure, Signal::Ocr)
    },
    Meter {
        service_name: "Azure AI Search",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "Semantic Ranker queries",
        sku_id: "DZH318Z0BQKZ/00QX",
        meter_id: "a81c3b90-25bf-56aa-b392-f388b05b3b65",
        charge_description: "Azure AI Search - Semantic Ranker queries",
        consumed_unit: "Units",
        pricing_unit: "Units",
        unit_of_measure: "1K",
        block: 1000.0,
        price: 1.0,
        resource_type: "microsoft.search/searchservices",
        source: "[P azwe azure_cognitive_search.json] Semantic Ranker queries, 1K, $1",
        ..m(Cloud::Azure, Signal::Search)
    },
    Meter {
        service_name: "Azure OpenAI",
        service_category: "AI and Machine Learning",
        service_subcategory: "Generative AI",
        sku_meter: "gpt-4o-mini-0718-Inp-glbl Tokens",
        sku_id: "DZH318Z0HHG7/182V",
        meter_id: "0f6b5e02-13b2-55f5-93a9-6374f0eb659d",
        charge_description: "Azure OpenAI - gpt-4o-mini-0718-Inp-glbl Tokens",
        consumed_unit: "Units",
        pricing_unit: "Units",
        unit_of_measure: "1K",
        block: 1000.0,
        price: 0.00015,
        resource_type: "microsoft.cognitiveservices/accounts",
        source: "[P azwe foundry_models.json] gpt-4o-mini-0718-Inp-glbl Tokens, 1K, $0.00015",
        ..m(Cloud::Azure, Signal::LlmTokens)
    },
    Meter {
        service_name: "Data Analytics Platform",
        service_category: "Analytics",
        service_subcategory: "Data Processing",
        sku_meter: "Platform Usage",
        sku_id: "",
        charge_description: "Data Analytics Platform - Platform Usage",
        consumed_unit: "Hours",
        pricing_unit: "Hours",
        unit_of_measure: "1 Hour",
        price: 12.0,
        resource_type: "microsoft.saas/resources",
        source: "marketplace row shape [D ftkkql PublisherName when PublisherType = Marketplace, §4.5]; product and price invented",
        ..m(Cloud::Azure, Signal::Marketplace)
    },
    // ---------------------------------------------------------------- AWS (FOCUS with AWS columns, §3)
    Meter {
        service_name: "Amazon Simple Storage Service",
        service_category: "Storage",
        service_subcategory: "Object Storage",
        sku_meter: "Storage",
        sku_id: "WP9ANXZGBYYSGJEA",
        usage_type: "EU-TimedStorage-ByteHrs",
        charge_description: "$0.023 per GB - first 50 TB / month of storage used",
        consumed_unit: "GB-Mo",
        pricing_unit: "GB-Mo",
        price: 0.023,
        resource_type: "Bucket",
        source: "[R cur TimedStorage-ByteHrs, R focus description, D s3ug]; S3 Standard $0.023/GB-Mo",
        ..m(Cloud::Aws, Signal::Storage)
    },
    Meter {
        service_name: "Amazon Simple Storage Service",
        service_category: "Networking",
        service_subcategory: "Network Infrastructure",
        sku_meter: "Data Transfer",
        sku_id: "N7WSYHVUT72KMK3V",
        usage_type: "EU-DataTransfer-Out-Bytes",
        charge_description: "$0.090 per GB - first 10 TB / month data transfer out beyond the global free tier",
        consumed_unit: "GB",
        pricing_unit: "GB",
        price: 0.09,
        resource_type: "Bucket",
        source: "[R cur DataTransfer-Out-Bytes, R focus description]; $0.09/GB",
        ..m(Cloud::Aws, Signal::Egress)
    },
    Meter {
        service_name: "Amazon Elastic Compute Cloud",
        service_category: "Compute",
        service_subcategory: "Virtual Machines",
        sku_meter: "Compute",
        sku_id: "8KNB7XVF2QJXWNV7",
        usage_type: "EU-BoxUsage:m5.xlarge",
        charge_description: "$0.214 per On Demand Linux m5.xlarge Instance Hour",
        consumed_unit: "Hours",
        pricing_unit: "Hours",
        price: 0.214,
        resource_type: "Instance",
        source: "[D bcsdk BoxUsage shape, R focus description shape]; m5.xlarge eu-west-1 $0.214/h",
        ..m(Cloud::Aws, Signal::VmHours)
    },
    Meter {
        service_name: "Amazon Elastic Compute Cloud",
        service_category: "Compute",
        service_subcategory: "Virtual Machines",
        sku_meter: "Compute",
        sku_id: "QT4M5ZPRX7Z8DB4A",
        usage_type: "EU-BoxUsage:g5.4xlarge",
        charge_description: "$1.624 per On Demand Linux g5.4xlarge Instance Hour",
        consumed_unit: "Hours",
        pricing_unit: "Hours",
        price: 1.624,
        resource_type: "Instance",
        source: "[R focus] \"$1.624 per On Demand Linux g5.4xlarge Instance Hour\"",
        ..m(Cloud::Aws, Signal::GpuHours)
    },
    Meter {
        service_name: "Amazon Transcribe",
        service_category: "AI and Machine Learning",
        service_subcategory: "Natural Language Processing",
        sku_meter: "Transcription",
        sku_id: "3ZF5HXP5X9QG6W6P",
        usage_type: "EU-TranscribeAudio",
        charge_description: "$0.024 per minute of audio transcribed (tier 1)",
        consumed_unit: "Seconds",
        pricing_unit: "Seconds",
        price: 0.0004,
        resource_type: "Transcription",
        source: "[D trg] billed per second of audio; product code transcribe [T fc]; $0.024/min tier 1; usage type not confirmed",
        ..m(Cloud::Aws, Signal::Speech)
    },
    Meter {
        service_name: "Amazon Translate",
        service_category: "AI and Machine Learning",
        service_subcategory: "Natural Language Processing",
        sku_meter: "Translation",
        sku_id: "VQ3XQ6J6M9Z2A5EE",
        usage_type: "EU-TranslateText",
        charge_description: "$15.00 per million characters of standard real-time translation",
        consumed_unit: "Characters",
        pricing_unit: "Characters",
        price: 0.000015,
        resource_type: "Translation",
        source: "[U] USE1-TranslateText shape, unit Characters [§3.4]; $15 per 1M characters",
        ..m(Cloud::Aws, Signal::Translation)
    },
    Meter {
        service_name: "Amazon Rekognition",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "Image Analysis",
        sku_id: "GX4Z6MJ7YB8C5R2T",
        usage_type: "EU-ImagesProcessed-Group1",
        charge_description: "$0.001 per image processed (SearchFacesByImage, IndexFaces), first 1M images",
        consumed_unit: "Images",
        pricing_unit: "Images",
        price: 0.001,
        resource_type: "Collection",
        source: "product code AmazonRekognition [T fc, D awl]; usage type not confirmed (§3.4); $0.001/image group 1",
        ..m(Cloud::Aws, Signal::Face)
    },
    Meter {
        service_name: "Amazon Textract",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "Detect Document Text",
        sku_id: "H2W8KQ9XJ5N3P7LD",
        usage_type: "EU-SyncTextPagesProcessed",
        charge_description: "$0.0015 per page for DetectDocumentText, first 1M pages",
        consumed_unit: "Pages",
        pricing_unit: "Pages",
        price: 0.0015,
        resource_type: "Document",
        source: "product code AmazonTextract [D awl]; SyncTextPagesProcessed [U §3.4]; $1.50 per 1,000 pages",
        ..m(Cloud::Aws, Signal::Ocr)
    },
    Meter {
        service_name: "Amazon Kendra",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "Queries",
        sku_id: "M4T7CB2XW9Q6K3JZ",
        usage_type: "EU-Kendra-Queries",
        charge_description: "$0.00035 per additional query",
        consumed_unit: "Queries",
        pricing_unit: "Queries",
        price: 0.00035,
        resource_type: "Index",
        source: "product code AmazonKendra [T fc]; usage type and unit not confirmed (§3.4)",
        ..m(Cloud::Aws, Signal::Search)
    },
    Meter {
        service_name: "Amazon Bedrock",
        service_category: "AI and Machine Learning",
        service_subcategory: "Generative AI",
        sku_meter: "Input Tokens",
        sku_id: "Z8Q3W6N2B5X7K4PJ",
        usage_type: "EU-NovaLite-input-tokens",
        charge_description: "$0.00006 per 1K input tokens for Amazon Nova Lite",
        consumed_unit: "tokens",
        pricing_unit: "tokens",
        price: 0.00000006,
        resource_type: "Model",
        source: "[U §3.4] <region>-<model>-input-tokens shape; Nova Lite $0.06 per 1M input tokens",
        ..m(Cloud::Aws, Signal::LlmTokens)
    },
    Meter {
        service_name: "Data Analytics Platform",
        service_category: "Analytics",
        service_subcategory: "Data Processing",
        sku_meter: "Software Usage",
        sku_id: "prod-7xq2mk4wz9a3c",
        usage_type: "EU-MP:SoftwareUsage-Hrs",
        charge_description: "AWS Marketplace hourly software usage|eu-west-1|platform",
        consumed_unit: "Hours",
        pricing_unit: "Hours",
        price: 12.0,
        resource_type: "Subscription",
        source: "[R focus] marketplace row: PublisherName the seller, ChargeDescription \"AWS Marketplace hourly software usage|…\"; price invented",
        ..m(Cloud::Aws, Signal::Marketplace)
    },
    // ---------------------------------------------------------------- Google Cloud (billing export fields, §5)
    Meter {
        service_name: "Cloud Storage",
        service_category: "Storage",
        service_subcategory: "Object Storage",
        sku_meter: "Standard Storage Europe Multi-region",
        sku_id: "E5F0-6A5D-7BAD",
        charge_description: "Standard Storage Europe Multi-region",
        consumed_unit: "byte-seconds",
        pricing_unit: "gibibyte month",
        pricing_per_consumed: 1.0 / GIB_MONTH_BYTE_SECONDS,
        price: 0.026,
        resource_type: "storage.googleapis.com/Bucket",
        source: "[T ccf] \"Standard Storage US Multi-region\", byte-seconds; EU multi-region $0.026/GiB-month",
        ..m(Cloud::Gcp, Signal::Storage)
    },
    Meter {
        service_name: "Compute Engine",
        service_category: "Networking",
        service_subcategory: "Network Infrastructure",
        sku_meter: "Network Internet Egress from EMEA to Americas",
        sku_id: "9DE9-9092-B3BC",
        charge_description: "Network Internet Egress from EMEA to Americas",
        consumed_unit: "bytes",
        pricing_unit: "gibibyte",
        pricing_per_consumed: 1.0 / 1_073_741_824.0,
        price: 0.12,
        resource_type: "compute.googleapis.com/Instance",
        source: "[T ccf gcp_input.test.csv] \"Network Internet Egress from EMEA to Americas\", bytes; $0.12/GiB",
        ..m(Cloud::Gcp, Signal::Egress)
    },
    Meter {
        service_name: "Compute Engine",
        service_category: "Compute",
        service_subcategory: "Virtual Machines",
        sku_meter: "N2 Instance Core running in Netherlands",
        sku_id: "BB77-5FDA-69D9",
        charge_description: "N2 Instance Core running in Netherlands",
        consumed_unit: "seconds",
        pricing_unit: "hour",
        pricing_per_consumed: 1.0 / 3600.0,
        price: 0.034806,
        resource_type: "compute.googleapis.com/Instance",
        source: "[T ccf] \"N1 Predefined Instance Core running in Virginia\" shape, seconds (vCPU, not VM: gap §5); N2 europe-west4 $0.034806/vCPU-h",
        ..m(Cloud::Gcp, Signal::VmHours)
    },
    Meter {
        service_name: "Compute Engine",
        service_category: "Compute",
        service_subcategory: "Virtual Machines",
        sku_meter: "Nvidia Tesla A100 GPU running in Netherlands",
        sku_id: "2A23-A3B4-5F1E",
        charge_description: "Nvidia Tesla A100 GPU running in Netherlands",
        consumed_unit: "seconds",
        pricing_unit: "hour",
        pricing_per_consumed: 1.0 / 3600.0,
        price: 2.933908,
        resource_type: "compute.googleapis.com/Instance",
        source: "[T ccf] \"Nvidia Tesla A100 GPU running in Americas\", seconds; $2.933908/GPU-h",
        ..m(Cloud::Gcp, Signal::GpuHours)
    },
    Meter {
        service_name: "Cloud Speech API",
        service_category: "AI and Machine Learning",
        service_subcategory: "Natural Language Processing",
        sku_meter: "Speech Recognition",
        sku_id: "9DF8-2A4C-7E10",
        charge_description: "Cloud Speech-to-Text standard recognition",
        consumed_unit: "seconds",
        pricing_unit: "minute",
        pricing_per_consumed: 1.0 / 60.0,
        price: 0.016,
        resource_type: "speech.googleapis.com/Recognizer",
        source: "service \"Cloud Speech API\" [T fc, ccf]; SKU not confirmed (§5); $0.016/min",
        ..m(Cloud::Gcp, Signal::Speech)
    },
    Meter {
        service_name: "Cloud Translation",
        service_category: "AI and Machine Learning",
        service_subcategory: "Natural Language Processing",
        sku_meter: "Text Translation",
        sku_id: "4A2B-8C1D-93E5",
        charge_description: "Cloud Translation text translation (NMT)",
        consumed_unit: "characters",
        pricing_unit: "characters",
        price: 0.00002,
        resource_type: "translate.googleapis.com/Project",
        source: "service \"Translate\" [T fc]; SKU not confirmed (§5); $20 per 1M characters",
        ..m(Cloud::Gcp, Signal::Translation)
    },
    Meter {
        service_name: "Cloud Vision API",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "Face Detection",
        sku_id: "6C1E-3B2A-D4F7",
        charge_description: "Cloud Vision Face Detection",
        consumed_unit: "requests",
        pricing_unit: "requests",
        price: 0.0015,
        resource_type: "vision.googleapis.com/Project",
        source: "service \"Cloud Vision API\" [T fc, ccf]; SKU \"Face Detection\" not confirmed (§5); $1.50 per 1,000 units",
        ..m(Cloud::Gcp, Signal::Face)
    },
    Meter {
        service_name: "Cloud Document AI API",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "Document OCR",
        sku_id: "8E3D-1F2A-C5B6",
        charge_description: "Document AI Enterprise Document OCR pages",
        consumed_unit: "pages",
        pricing_unit: "pages",
        price: 0.0015,
        resource_type: "documentai.googleapis.com/Processor",
        source: "service \"Cloud Document AI API\" [T fc]; SKU not confirmed (§5); $1.50 per 1,000 pages",
        ..m(Cloud::Gcp, Signal::Ocr)
    },
    Meter {
        service_name: "Vertex AI Search",
        service_category: "AI and Machine Learning",
        service_subcategory: "Other (AI and Machine Learning)",
        sku_meter: "Search Standard Queries",
        sku_id: "1B7C-9D2E-4F3A",
        charge_description: "Vertex AI Search standard edition queries",
        consumed_unit: "queries",
        pricing_unit: "queries",
        price: 0.0015,
        resource_type: "discoveryengine.googleapis.com/Engine",
        source: "service and SKU not confirmed (§5); $1.50 per 1,000 queries",
        ..m(Cloud::Gcp, Signal::Search)
    },
    Meter {
        service_name: "Vertex AI",
        service_category: "AI and Machine Learning",
        service_subcategory: "Generative AI",
        sku_meter: "Gemini Flash Input Tokens",
        sku_id: "5D2E-7A1B-3C9F",
        charge_description: "Gemini 2.0 Flash input text tokens",
        consumed_unit: "tokens",
        pricing_unit: "tokens",
        price: 0.00000015,
        resource_type: "aiplatform.googleapis.com/Endpoint",
        source: "service \"Vertex AI\" [T fc]; token SKUs not confirmed (§5); $0.15 per 1M input tokens",
        ..m(Cloud::Gcp, Signal::LlmTokens)
    },
    Meter {
        service_name: "Data Analytics Platform",
        service_category: "Analytics",
        service_subcategory: "Data Processing",
        sku_meter: "Licensing Fee for Data Analytics Platform",
        sku_id: "7F1A-2B3C-4D5E",
        charge_description: "Licensing Fee for Data Analytics Platform",
        consumed_unit: "seconds",
        pricing_unit: "hour",
        pricing_per_consumed: 1.0 / 3600.0,
        price: 12.0,
        resource_type: "cloudcommerceconsumerprocurement.googleapis.com/Order",
        source: "[T ccf] marketplace-shaped row \"Licensing Fee for Bitnami …\", seconds; Publisher ← seller_name [T fc]; price invented",
        ..m(Cloud::Gcp, Signal::Marketplace)
    },
    // OCI: the FOCUS report's strings (ServiceName in upper snake case, ChargeDescription = the SKU's description,
    // UsageUnit = its skuUnitDescription) [R oci: catalog-sources/oci/derived/oci-cost-report-skus.csv]. No source
    // names OCI's AI SKUs, nor any per-query search or per-token model SKU: those meters are marked [U], with the
    // service names of the catalog's own unconfirmed OCI rules, and OCI bills no search or LLM-token signal here.
    Meter {
        service_name: "OBJECTSTORE",
        service_category: "Storage",
        sku_id: "B91628",
        charge_description: "Object Storage - Storage",
        consumed_unit: "GB Months",
        pricing_unit: "GB Months",
        price: 0.0255,
        resource_type: "bucket",
        source: "[R oci] B91628 Object Storage - Storage, GB Months (1 GiB MONTHS STORAGE_SIZE); $0.0255/GiB-month",
        ..m(Cloud::Oci, Signal::Storage)
    },
    Meter {
        service_name: "NETWORK",
        service_category: "Networking",
        sku_id: "B88327",
        charge_description: "Outbound Data Transfer Zone 1",
        consumed_unit: "GB Months",
        pricing_unit: "GB Months",
        price: 0.0085,
        resource_type: "vcn",
        source: "[R oci] B88327 Outbound Data Transfer Zone 1, labelled GB Months (1 GiB HOURS DATA_TRANSFERRED); $0.0085/GiB",
        ..m(Cloud::Oci, Signal::Egress)
    },
    Meter {
        service_name: "COMPUTE",
        service_category: "Compute",
        sku_id: "B93113",
        charge_description: "Standard - E4",
        consumed_unit: "OCPU Hours",
        pricing_unit: "OCPU Hours",
        price: 0.025,
        resource_type: "instance",
        source: "[R oci] B93113 Standard - E4, OCPU Hours; $0.025/OCPU-hour",
        ..m(Cloud::Oci, Signal::VmHours)
    },
    Meter {
        service_name: "COMPUTE",
        service_category: "Compute",
        sku_id: "B95909",
        charge_description: "Compute - GPU - A10",
        consumed_unit: "GPU Hours",
        pricing_unit: "GPU Hours",
        price: 2.0,
        resource_type: "instance",
        source: "[U] GPU shape SKU not in any source (the catalog's oci.gpu rule); $2/GPU-hour",
        ..m(Cloud::Oci, Signal::GpuHours)
    },
    Meter {
        service_name: "AI_SPEECH",
        service_category: "AI and Machine Learning",
        sku_id: "B94896",
        charge_description: "OCI Speech - Transcription",
        consumed_unit: "Transcription Hours",
        pricing_unit: "Transcription Hours",
        price: 0.016,
        resource_type: "speechtranscriptionjob",
        source: "[U] service and SKU not in any source (the catalog's oci.speech rule); $0.016/hour",
        ..m(Cloud::Oci, Signal::Speech)
    },
    Meter {
        service_name: "AI_LANGUAGE",
        service_category: "AI and Machine Learning",
        sku_id: "B94897",
        charge_description: "OCI Language - Text Translation",
        consumed_unit: "Characters",
        pricing_unit: "Characters",
        price: 0.00001,
        resource_type: "languageproject",
        source: "[U] service and SKU not in any source (the catalog's oci.translation rule); $10 per 1M characters",
        ..m(Cloud::Oci, Signal::Translation)
    },
    Meter {
        service_name: "AI_VISION",
        service_category: "AI and Machine Learning",
        sku_id: "B94898",
        charge_description: "OCI Vision - Face Detection",
        consumed_unit: "Transactions",
        pricing_unit: "Transactions",
        price: 0.0005,
        resource_type: "visionproject",
        source: "[U] service and SKU not in any source (the catalog's oci.vision.face rule); $0.50 per 1,000 transactions",
        ..m(Cloud::Oci, Signal::Face)
    },
    Meter {
        service_name: "AI_DOCUMENT_UNDERSTANDING",
        service_category: "AI and Machine Learning",
        sku_id: "B94899",
        charge_description: "OCI Document Understanding - Text Extraction",
        consumed_unit: "Pages",
        pricing_unit: "Pages",
        price: 0.001,
        resource_type: "documentproject",
        source: "[U] service and SKU not in any source (the catalog's oci.document rule); $1 per 1,000 pages",
        ..m(Cloud::Oci, Signal::Ocr)
    },
    Meter {
        service_name: "MARKETPLACE",
        service_category: "Analytics",
        sku_id: "B95000",
        charge_description: "Licensing Fee for Data Analytics Platform",
        consumed_unit: "Hours",
        pricing_unit: "Hours",
        price: 12.0,
        resource_type: "listing",
        source: "[U] marketplace row shape not in any source (the catalog's oci.marketplace rule, by PublisherName); price invented",
        ..m(Cloud::Oci, Signal::Marketplace)
    },
];

/// A meter with the catalog mapping that reads it back.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The meter.
    pub meter: &'static Meter,
    /// How the embedded catalog maps it.
    pub mapping: Mapping<'static>,
}

impl Bound {
    /// The consumed quantity that carries `amount` (in the signal's SI unit; a daily average for gauges) over a
    /// one-day row in a month of `month_days` days.
    pub fn quantity(&self, amount: f64, month_days: u32) -> f64 {
        let mp = &self.mapping;
        let mut per_unit = mp.factor;
        if mp.per_month {
            per_unit *= mp.month.hours(month_days);
        }
        if mp.gauge {
            // factor × q (× month hours) is unit-hours; a day's average × 24 is the day's unit-hours.
            amount * 24.0 / per_unit
        } else {
            amount / per_unit
        }
    }
}

/// The meter key the catalog sees for a meter's rows; `with_sku_meter` is false for FOCUS 1.0 output.
pub fn key(meter: &'static Meter, with_sku_meter: bool, publisher: &'static str) -> MeterKey<'static> {
    let opt = |s: &'static str| (!s.is_empty()).then_some(s);
    MeterKey {
        provider: Some(meter.cloud.provider_name()),
        service_name: opt(meter.service_name),
        service_category: opt(meter.service_category),
        sku_id: opt(meter.sku_id),
        sku_meter: if with_sku_meter { opt(meter.sku_meter) } else { None },
        meter_id: opt(meter.meter_id),
        usage_type: opt(meter.usage_type),
        charge_description: opt(meter.charge_description),
        charge_category: Some("Usage"),
        consumed_unit: opt(meter.consumed_unit),
        pricing_unit: opt(meter.pricing_unit),
        publisher_name: Some(publisher),
        resource_type: opt(meter.resource_type),
    }
}

/// The meters of one cloud, indexed by signal, each bound to its catalog mapping; `None` for a signal the cloud has
/// no meter for (OCI bills no per-query search and no per-token model in any source).
#[derive(Debug, Clone)]
pub struct MeterSet {
    bound: Vec<Option<Bound>>,
}

/// A meter the catalog does not read back as the signal it is meant for.
#[derive(Debug, thiserror::Error)]
#[error("the meter catalog reads {cloud:?} meter {meter:?} as {got}, not {want}")]
pub struct Unmapped {
    /// The cloud.
    pub cloud: Cloud,
    /// The meter name.
    pub meter: &'static str,
    /// What the catalog said.
    pub got: String,
    /// The signal meant.
    pub want: &'static str,
}

impl MeterSet {
    /// Bind every meter of `cloud` to the catalog; fails if the catalog would read one as anything else.
    pub fn new(cloud: Cloud, catalog: &'static Catalog, with_sku_meter: bool) -> Result<MeterSet, Unmapped> {
        let mut bound = Vec::new();
        for signal in Signal::ALL {
            let Some(meter) = METERS.iter().find(|m| m.cloud == cloud && m.signal == signal) else {
                bound.push(None);
                continue;
            };
            let publisher = if signal == Signal::Marketplace { "Northbridge Data Analytics, Inc." } else { cloud.publisher() };
            let got = catalog.lookup(&key(meter, with_sku_meter, publisher));
            match got.into_mapping() {
                Some(mapping) if mapping.signal == signal.name() => bound.push(Some(Bound { meter, mapping })),
                other => {
                    let name = if meter.sku_meter.is_empty() { meter.charge_description } else { meter.sku_meter };
                    return Err(Unmapped { cloud, meter: name, got: format!("{other:?}"), want: signal.name() });
                }
            }
        }
        Ok(MeterSet { bound })
    }

    /// The meter for a signal, if the cloud has one.
    pub fn get(&self, signal: Signal) -> Option<&Bound> {
        self.bound[signal.index()].as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_reads_every_meter_back_as_its_signal() {
        for cloud in Cloud::ALL {
            for with_sku_meter in [true, false] {
                let set = MeterSet::new(cloud, Catalog::embedded(), with_sku_meter).unwrap_or_else(|e| panic!("{e}"));
                for s in Signal::ALL {
                    let Some(b) = set.get(s) else {
                        assert!(cloud == Cloud::Oci && matches!(s, Signal::Search | Signal::LlmTokens), "{cloud:?} has no {s:?} meter");
                        continue;
                    };
                    // Round trip: the quantity written for an amount reads back as that amount.
                    let q = b.quantity(1234.5, 30);
                    let mut back = q * b.mapping.factor;
                    if b.mapping.per_month {
                        back *= b.mapping.month.hours(30);
                    }
                    if b.mapping.gauge {
                        back /= 24.0;
                    }
                    assert!((back - 1234.5).abs() < 1e-6, "{cloud:?} {s:?}: {back}");
                }
            }
        }
    }

    /// Azure meters carry the price list's GUID, name, unit and first-tier price.
    #[test]
    fn azure_meters_match_the_price_list() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/catalog-sources/azure");
        let mut items = Vec::new();
        for f in [
            "retail-prices-westeurope/foundry_tools.json",
            "retail-prices-westeurope/storage.json",
            "retail-prices-westeurope/azure_cognitive_search.json",
            "retail-prices-westeurope/foundry_models.json",
            "retail-prices-eastus2-sample/virtual_machines_eastus2.json",
        ] {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(f)).expect("price list in ../shared")).expect("JSON");
            let list = v.get("Items").cloned().unwrap_or(v);
            items.extend(list.as_array().expect("a list").iter().cloned());
        }
        let mut checked = 0;
        for m in METERS.iter().filter(|m| m.cloud == Cloud::Azure && !m.meter_id.is_empty() && m.signal != Signal::Egress) {
            let hit = items.iter().find(|it| {
                it["meterId"] == m.meter_id && it["type"] == "Consumption" && it["tierMinimumUnits"].as_f64() == Some(0.0) && it["skuId"] == m.sku_id
            });
            let it = hit.unwrap_or_else(|| panic!("{} {} not in the price list", m.sku_meter, m.meter_id));
            assert_eq!(it["meterName"], m.sku_meter);
            assert_eq!(it["unitOfMeasure"], m.unit_of_measure);
            assert_eq!(it["retailPrice"].as_f64(), Some(m.price), "{}", m.sku_meter);
            checked += 1;
        }
        assert_eq!(checked, 9);
    }
}
