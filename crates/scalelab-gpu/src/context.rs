//! The GPU context: adapter, device, queue, the limits the launchers check, and the pipeline cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::GpuError;
use crate::limits::KernelLimits;

/// At most this many uncaptured errors are kept (the oldest are dropped).
const MAX_RECORDED_ERRORS: usize = 32;

/// A compiled compute pipeline and the bind-group layout it was built with.
pub(crate) struct CachedPipeline {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) bind_group_layout: wgpu::BindGroupLayout,
}

/// Cache key: the kernel name (= WGSL entry point) and the `workgroup_size` override it was built with.
pub(crate) type PipelineKey = (&'static str, u32);

/// A connection to one GPU: WebGPU in the browser (`Backends::BROWSER_WEBGPU` only), Vulkan natively.
///
/// Create it once with [`GpuContext::new`] and pass `&GpuContext` to the kernel launchers
/// ([`crate::softmax_rows`], [`crate::stablemax_rows`], [`crate::probe`]); compiled pipelines are
/// cached inside it. Natively it is `Send + Sync`; on wasm32 the wgpu handles are JS objects, so it
/// is neither (keep it in the thread / worker that created it, e.g. in an `Rc`).
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    /// In browsers: `GPUAdapterInfo.vendor` and `.architecture` (wgpu fills only the description).
    browser_label: Option<String>,
    limits: KernelLimits,
    pipelines: Mutex<HashMap<PipelineKey, Arc<CachedPipeline>>>,
    uncaptured: Arc<Mutex<Vec<String>>>,
    lost: Arc<Mutex<Option<String>>>,
    dispatch_repeats: AtomicU32,
}

impl GpuContext {
    /// Finds a high-performance adapter and opens a device on it.
    ///
    /// - wasm32: WebGPU only (`navigator.gpu`, also inside dedicated workers). Without it the
    ///   error is [`GpuError::NoAdapter`] with a reason a user can act on.
    /// - native: Vulkan (Mesa lavapipe works without a GPU); `WGPU_BACKEND` overrides the
    ///   backend set, `WGPU_POWER_PREF` the power preference.
    ///
    /// The device is requested with `Limits::downlevel_defaults()`, raised to the adapter's own
    /// storage-buffer and buffer size limits so large inputs fit. An uncaptured-error handler and
    /// a device-lost callback are installed; they only record (see
    /// [`GpuContext::uncaptured_errors`], [`GpuContext::lost_reason`]), never panic.
    pub async fn new() -> Result<GpuContext, GpuError> {
        let adapter = request_adapter().await?;
        let adapter_limits = adapter.limits();
        let mut required_limits =
            wgpu::Limits::downlevel_defaults().using_resolution(adapter_limits.clone());
        required_limits.max_storage_buffer_binding_size =
            adapter_limits.max_storage_buffer_binding_size;
        required_limits.max_buffer_size = adapter_limits.max_buffer_size;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("scalelab"),
                required_features: wgpu::Features::empty(),
                required_limits,
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|err| GpuError::RequestDevice {
                reason: err.to_string(),
            })?;

        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&uncaptured);
        device.on_uncaptured_error(Arc::new(move |err: wgpu::Error| {
            let mut errors = sink.lock().unwrap_or_else(PoisonError::into_inner);
            if errors.len() >= MAX_RECORDED_ERRORS {
                errors.remove(0);
            }
            errors.push(err.to_string());
        }));
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            *lost_sink.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(format!("{reason:?}: {message}"));
        });

        let limits = KernelLimits::from_wgpu(&device.limits());
        Ok(GpuContext {
            device,
            queue,
            info: adapter.get_info(),
            browser_label: browser_adapter_label().await,
            limits,
            pipelines: Mutex::new(HashMap::new()),
            uncaptured,
            lost,
            dispatch_repeats: AtomicU32::new(1),
        })
    }

    /// The adapter's name (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`). Browsers usually leave the
    /// description empty; then the vendor and architecture they do report (e.g. `google
    /// swiftshader`), or, without those either, a note that the browser hides it.
    pub fn adapter_name(&self) -> String {
        if !self.info.name.is_empty() {
            self.info.name.clone()
        } else if let Some(label) = &self.browser_label {
            label.clone()
        } else {
            "unknown (hidden by the browser)".to_owned()
        }
    }

    /// The graphics API in use: `"WebGPU"`, `"Vulkan"`, `"Metal"`, `"DirectX 12"`, `"OpenGL"` or `"noop"`.
    pub fn backend_name(&self) -> &'static str {
        match self.info.backend {
            wgpu::Backend::BrowserWebGpu => "WebGPU",
            wgpu::Backend::Vulkan => "Vulkan",
            wgpu::Backend::Metal => "Metal",
            wgpu::Backend::Dx12 => "DirectX 12",
            wgpu::Backend::Gl => "OpenGL",
            wgpu::Backend::Noop => "noop",
        }
    }

    /// The kind of device: `"discrete GPU"`, `"integrated GPU"`, `"virtual GPU"`, `"CPU (software
    /// renderer)"` or `"other"` (browsers report `"other"` unless it is a fallback adapter).
    pub fn device_type(&self) -> String {
        match self.info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Cpu => "CPU (software renderer)",
            wgpu::DeviceType::Other => "other",
        }
        .to_owned()
    }

    /// The device limits the launchers check their inputs against.
    pub fn limits(&self) -> KernelLimits {
        self.limits
    }

    /// Errors wgpu reported outside any error scope, oldest first (at most 32 are kept).
    /// The launchers capture their own validation errors, so this is normally empty.
    pub fn uncaptured_errors(&self) -> Vec<String> {
        self.uncaptured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `Some(reason)` once the device has been lost; every launcher then returns
    /// [`GpuError::DeviceLost`] and a new context is needed.
    pub fn lost_reason(&self) -> Option<String> {
        self.lost
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Benchmarking aid: every later launch encodes its dispatch `repeats` times (at least once)
    /// in one submission before the single read-back. Kernels are pure functions of their inputs,
    /// so results are unchanged; the per-dispatch time is `(t(R) − t(1)) / (R − 1)`, upload and
    /// read-back cancelling out. The Kernels page and `bench/kernels.mjs` time kernels this way.
    pub fn set_dispatch_repeats(&self, repeats: u32) {
        self.dispatch_repeats
            .store(repeats.max(1), Ordering::Relaxed);
    }

    /// The current [`GpuContext::set_dispatch_repeats`] value (1 unless changed).
    pub fn dispatch_repeats(&self) -> u32 {
        self.dispatch_repeats.load(Ordering::Relaxed)
    }

    /// Destroys the device, as a driver reset would: the lost-device callback fires and every
    /// later launch returns [`GpuError::DeviceLost`]. For testing fallbacks (the Kernels page's
    /// "simulate device loss" and the browser tests).
    pub fn destroy(&self) {
        *self.lost.lock().unwrap_or_else(PoisonError::into_inner) =
            Some("Destroyed: GpuContext::destroy was called".to_owned());
        self.device.destroy();
    }

    pub(crate) fn ensure_alive(&self) -> Result<(), GpuError> {
        match self.lost_reason() {
            Some(reason) => Err(GpuError::DeviceLost { reason }),
            None => Ok(()),
        }
    }

    pub(crate) fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub(crate) fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The pipeline for `key`, built by `create` on first use and cached for the context's lifetime.
    pub(crate) fn cached_pipeline(
        &self,
        key: PipelineKey,
        create: impl FnOnce(&wgpu::Device) -> CachedPipeline,
    ) -> Arc<CachedPipeline> {
        let mut cache = self
            .pipelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            cache
                .entry(key)
                .or_insert_with(|| Arc::new(create(&self.device))),
        )
    }
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.adapter_name())
            .field("backend", &self.backend_name())
            .field("device_type", &self.device_type())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Native: Vulkan (or `WGPU_BACKEND`), high-performance adapter.
#[cfg(not(target_arch = "wasm32"))]
async fn request_adapter() -> Result<wgpu::Adapter, GpuError> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::VULKAN);
    let backends = desc.backends;
    let instance = wgpu::Instance::new(desc);
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::from_env()
                .unwrap_or(wgpu::PowerPreference::HighPerformance),
            ..Default::default()
        })
        .await
        .map_err(|err| {
            let which = if backends == wgpu::Backends::VULKAN {
                "no Vulkan adapter found".to_owned()
            } else {
                format!("no adapter found for WGPU_BACKEND = {backends:?}")
            };
            GpuError::NoAdapter {
                reason: format!(
                    "{which} ({err}); install a Vulkan driver (e.g. Debian's mesa-vulkan-drivers \
                     for the lavapipe software renderer)"
                ),
            }
        })
}

/// Browser: WebGPU only, with a reason that tells "no WebGPU at all" from "WebGPU without adapter".
#[cfg(target_arch = "wasm32")]
async fn request_adapter() -> Result<wgpu::Adapter, GpuError> {
    if !wgpu::util::is_browser_webgpu_supported().await {
        let reason = if navigator_has_gpu() {
            "navigator.gpu exists but requestAdapter() returned no adapter: WebGPU is disabled or \
             blocklisted for this GPU (on Linux Chrome it may need --enable-unsafe-webgpu)"
        } else {
            "navigator.gpu is missing: this runtime has no WebGPU (Node, or a browser without it), \
             or the page is not a secure context (WebGPU needs https:// or localhost)"
        };
        return Err(GpuError::NoAdapter {
            reason: reason.to_owned(),
        });
    }
    // WebGPU support was just established (what `wgpu::util::new_instance_with_webgpu_detection`
    // checks), so build the WebGPU-only instance directly instead of asking for an adapter again.
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::BROWSER_WEBGPU;
    let instance = wgpu::Instance::new(desc);
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|err| GpuError::NoAdapter {
            reason: format!("WebGPU returned no adapter: {err}"),
        })
}

/// Whether the global object (window or worker) has `navigator.gpu`.
#[cfg(target_arch = "wasm32")]
async fn browser_adapter_label() -> Option<String> {
    use js_sys::wasm_bindgen::{JsCast, JsValue};
    use js_sys::Reflect;
    let get = |obj: &JsValue, key: &str| Reflect::get(obj, &JsValue::from_str(key)).ok();
    let global: JsValue = js_sys::global().into();
    let gpu = get(&global, "navigator").and_then(|n| get(&n, "gpu"))?;
    let request = get(&gpu, "requestAdapter")?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let promise = request
        .call0(&gpu)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let info = get(&adapter, "info")?;
    let parts: Vec<String> = ["vendor", "architecture"]
        .iter()
        .filter_map(|k| get(&info, k).and_then(|v| v.as_string()))
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(not(target_arch = "wasm32"))]
async fn browser_adapter_label() -> Option<String> {
    None
}

#[cfg(target_arch = "wasm32")]
fn navigator_has_gpu() -> bool {
    use js_sys::wasm_bindgen::JsValue;
    let global: JsValue = js_sys::global().into();
    js_sys::Reflect::get(&global, &JsValue::from_str("navigator"))
        .ok()
        .filter(|navigator| navigator.is_object())
        .and_then(|navigator| js_sys::Reflect::get(&navigator, &JsValue::from_str("gpu")).ok())
        .is_some_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}
