//! Builds a small MLP, prints its summary and saves its weights as safetensors, so the file can
//! be opened from Python:
//!
//! ```text
//! cargo run -p ecgrad-models --example save_mlp -- /tmp/mlp.safetensors
//! python -c "from safetensors.torch import load_file; print({k: v.shape for k, v in load_file('/tmp/mlp.safetensors').items()})"
//! ```
//! The names and shapes match PyTorch's
//! `nn.Sequential(OrderedDict(fc1=nn.Linear(16, 8), act=nn.ReLU(), fc2=nn.Linear(8, 2)))`.

use ecgrad_models::autograd::engine::{Rng, Shape};
use ecgrad_models::layers::{Linear, Relu, Sequential};
use ecgrad_models::{checkpoint, module};

fn main() -> ecgrad_models::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "mlp.safetensors".to_string());
    let mut rng = Rng::stream(0, "init");
    let mut mlp = Sequential::new()
        .with_named("fc1", Linear::new(16, 8, true, &mut rng)?)?
        .with_named("act", Relu)?
        .with_named("fc2", Linear::new(8, 2, true, &mut rng)?)?;
    print!("{}", module::summary(&mut mlp, Shape::d2(1, 16))?);
    checkpoint::save(&mut mlp, &path)?;
    println!("saved {path}");
    for (name, shape) in module::named_shapes(&mut mlp) {
        println!("{name} {shape}");
    }
    Ok(())
}
