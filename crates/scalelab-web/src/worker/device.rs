//! The worker's GPU device, shared by every job that uses the GPU (the Kernels lab, the grokking
//! trainer, the Guidance sampler), and the [`Backend`] a job asks for.
//!
//! The device is opened and checked (softmax and StableMax against the f64 oracle) when the worker
//! starts ([`probe_device`]), and that status is what the page's chip shows. When the device is
//! lost (a driver reset, or the Kernels lab's simulated loss) GPU requests are answered on the CPU
//! with a notice until a job asks to retry the GPU, which opens a new device.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use scalelab_gpu::GpuContext;

use crate::worker::protocol::DeviceStatus;

/// Where a job computes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Backend {
    /// The worker's GPU device (WebGPU), in `f32`; the CPU when there is none.
    #[default]
    Gpu,
    /// The CPU (WebAssembly SIMD128).
    Cpu,
}

enum Device {
    /// Not opened yet.
    Closed,
    /// Being opened and checked; the waiters hear when it is done.
    Probing(Vec<oneshot::Sender<()>>),
    /// Open and (as far as we know) alive.
    Open(Rc<GpuContext>),
    /// No adapter, no device, or kernels that disagree with the oracle: the reason.
    Unavailable(String),
    /// Lost: the reason. GPU requests use the CPU until a retry.
    Lost(String),
}

type Listener = Box<dyn Fn(&DeviceStatus)>;

thread_local! {
    static DEVICE: RefCell<Device> = const { RefCell::new(Device::Closed) };
    static LISTENER: RefCell<Option<Listener>> = const { RefCell::new(None) };
}

/// Tells `listener` of every change of the device's status (the worker posts it to the page).
pub fn on_device_status(listener: impl Fn(&DeviceStatus) + 'static) {
    LISTENER.with(|l| *l.borrow_mut() = Some(Box::new(listener)));
}

fn announce(status: &DeviceStatus) {
    LISTENER.with(|l| {
        if let Some(f) = l.borrow().as_ref() {
            f(status)
        }
    });
}

/// Opens the device and checks the softmax and StableMax kernels against the f64 oracle; the
/// result is announced and kept (a device that disagrees is not used).
pub async fn probe_device() -> DeviceStatus {
    let waiters = DEVICE.with(|d| match &mut *d.borrow_mut() {
        Device::Probing(w) => std::mem::take(w),
        _ => Vec::new(),
    });
    DEVICE.with(|d| *d.borrow_mut() = Device::Probing(waiters));
    announce(&DeviceStatus::Probing);
    let status = match GpuContext::new().await {
        Ok(ctx) => match scalelab_gpu::probe(&ctx).await {
            Ok(report) if report.passed => {
                let status = DeviceStatus::Gpu {
                    adapter: ctx.adapter_name(),
                    api: ctx.backend_name().to_string(),
                    softmax_err: report.softmax_max_abs_err,
                    stablemax_err: report.stablemax_max_abs_err,
                };
                settle(Device::Open(Rc::new(ctx)));
                status
            }
            Ok(report) => unavailable(format!(
                "the GPU kernels disagreed with the CPU (max error {:.2e} / {:.2e})",
                report.softmax_max_abs_err, report.stablemax_max_abs_err
            )),
            Err(e) => unavailable(e.to_string()),
        },
        Err(e) => unavailable(e.to_string()),
    };
    announce(&status);
    status
}

fn unavailable(reason: String) -> DeviceStatus {
    settle(Device::Unavailable(reason.clone()));
    DeviceStatus::Cpu { reason }
}

/// Ends a probe: stores its outcome and wakes the jobs waiting for it.
fn settle(outcome: Device) {
    let previous = DEVICE.with(|d| std::mem::replace(&mut *d.borrow_mut(), outcome));
    if let Device::Probing(waiters) = previous {
        for w in waiters {
            let _ = w.send(());
        }
    }
}

/// Why the worker has no GPU device to run on.
pub(crate) enum NoDevice {
    /// No adapter or no device.
    Unavailable(String),
    /// The device was lost.
    Lost(String),
}

impl NoDevice {
    pub(crate) fn why(&self) -> String {
        match self {
            NoDevice::Unavailable(reason) => format!("No GPU: {reason}"),
            NoDevice::Lost(reason) => format!("The GPU device was lost ({reason})"),
        }
    }

    /// The notice shown when the CPU answered a GPU request.
    pub(crate) fn fallback_notice(&self) -> String {
        match self {
            NoDevice::Unavailable(_) => format!("{}. The CPU ran this instead.", self.why()),
            NoDevice::Lost(_) => format!(
                "{}. The CPU ran this instead; choose “Use the GPU again” to open a new device.",
                self.why()
            ),
        }
    }
}

/// The open device, opening (and checking) it if needed — again after a loss when `retry`. A job
/// that asks while the start-up check runs waits for it.
pub(crate) async fn device(mut retry: bool) -> Result<Rc<GpuContext>, NoDevice> {
    enum Next {
        Ready(Rc<GpuContext>),
        Wait(oneshot::Receiver<()>),
        Probe,
    }
    loop {
        let next = DEVICE.with(|d| match &mut *d.borrow_mut() {
            Device::Open(ctx) => Ok(Next::Ready(Rc::clone(ctx))),
            Device::Probing(waiters) => {
                let (tx, rx) = oneshot::channel();
                waiters.push(tx);
                Ok(Next::Wait(rx))
            }
            Device::Closed => Ok(Next::Probe),
            Device::Unavailable(_) | Device::Lost(_) if retry => Ok(Next::Probe),
            Device::Unavailable(reason) => Err(NoDevice::Unavailable(reason.clone())),
            Device::Lost(reason) => Err(NoDevice::Lost(reason.clone())),
        })?;
        match next {
            Next::Ready(ctx) => return Ok(ctx),
            Next::Wait(rx) => {
                let _ = rx.await;
            }
            Next::Probe => {
                retry = false;
                probe_device().await;
            }
        }
    }
}

/// Records a lost device and announces it.
pub(crate) fn mark_lost(reason: &str) -> NoDevice {
    DEVICE.with(|d| *d.borrow_mut() = Device::Lost(reason.to_owned()));
    announce(&DeviceStatus::Lost {
        reason: reason.to_owned(),
    });
    NoDevice::Lost(reason.to_owned())
}

/// Destroys the open device, as a driver reset would (the Kernels lab's simulated loss); `false`
/// when none was open.
pub(crate) fn destroy_device() -> bool {
    DEVICE.with(|d| match &*d.borrow() {
        Device::Open(ctx) => {
            ctx.destroy();
            true
        }
        _ => false,
    })
}

/// Closes the device (natively, in tests: the context must be dropped before the thread's
/// locals are torn down, since dropping it touches wgpu's own).
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn close_device() {
    let previous = DEVICE.with(|d| std::mem::replace(&mut *d.borrow_mut(), Device::Closed));
    drop(previous);
}
