// Exports a checkpoint with the families this project registered (bert only):
// exit 0 when the export validated and the registry holds exactly bert.
#include <typeformer/export/pretrained.hpp>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    if (typeformer::supported_model_types() != std::vector<std::string>{"bert"}) return 3;
    const auto report = typeformer::export_pretrained(argv[1], argv[2], {.feature = "default"});
    return report.ok() && report.validated ? 0 : 1;
}
