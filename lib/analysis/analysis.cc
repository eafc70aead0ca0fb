// Placeholder: this stage is being built.
namespace ktriage {}
