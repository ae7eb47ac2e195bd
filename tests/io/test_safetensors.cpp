// Tests for typeformer/io/safetensors.hpp: a writer/reader round trip, the
// f16/bf16 conversions, and one test per kind of malformed file (built by hand).
#include <typeformer/io/safetensors.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace tf = typeformer;
namespace fs = std::filesystem;

namespace {

template <class T>
std::span<const std::byte> as_bytes_of(const std::vector<T>& v) {
    return std::as_bytes(std::span<const T>(v));
}

/// A fresh directory per test, removed afterwards.
class SafetensorsTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        std::random_device rd;
        dir_ = fs::temp_directory_path() /
               ("typeformer_st_" + std::string(info->name()) + "_" + std::to_string(rd()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    fs::path file(const std::string& name = "model.safetensors") const { return dir_ / name; }

    /// Writes raw bytes as they are.
    fs::path write_raw(const std::string& bytes, const std::string& name = "model.safetensors") const {
        const auto p = file(name);
        std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return p;
    }

    /// 8-byte little-endian length + header + data.
    fs::path write_file(const std::string& header, const std::string& data = {},
                        const std::string& name = "model.safetensors") const {
        std::string s(8, '\0');
        const std::uint64_t n = header.size();
        std::memcpy(s.data(), &n, 8);
        return write_raw(s + header + data, name);
    }

    /// Opens `p`, expects typeformer::error with `id`, and returns its message.
    static std::string open_error(const fs::path& p, const std::string& id) {
        try {
            (void)tf::safetensors_file::open(p);
        } catch (const tf::error& e) {
            EXPECT_EQ(e.id(), id) << e.what();
            EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "no error for " << p;
        return {};
    }

    fs::path dir_;
};

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// -- round trip -------------------------------------------------------------

TEST_F(SafetensorsTest, RoundTripAllKinds) {
    const std::vector<float> f32{1.0f, -2.5f, 3.25f, 0.0f, 1e-30f, -7.0f};
    const std::vector<std::uint16_t> f16{0x3c00, 0xc100, 0x7bff, 0x0001, 0x8000, 0x03ff};
    const std::vector<std::uint16_t> bf16{0x3f80, 0xc020, 0x0000, 0x4049};
    const std::vector<std::int64_t> i64{-1, 0, std::numeric_limits<std::int64_t>::max(), 42};
    const std::vector<float> scalar{6.5f};
    const std::vector<float> empty;
    const std::vector<double> f64{0.5, -1e10};
    const std::vector<std::int32_t> i32{-3, 7};
    const std::vector<std::uint8_t> flags{0, 1, 1};

    const std::vector<tf::tensor_to_write> in{
        {"a.f32", tf::dtype::f32, {2, 3}, as_bytes_of(f32)},
        {"b.f16", tf::dtype::f16, {6}, as_bytes_of(f16)},
        {"c.bf16", tf::dtype::bf16, {2, 2}, as_bytes_of(bf16)},
        {"d.i64", tf::dtype::i64, {4}, as_bytes_of(i64)},
        {"e.scalar", tf::dtype::f32, {}, as_bytes_of(scalar)},
        {"f.empty", tf::dtype::f32, {3, 0, 2}, as_bytes_of(empty)},
        {"g.f64", tf::dtype::f64, {2}, as_bytes_of(f64)},
        {"h.i32", tf::dtype::i32, {1, 2}, as_bytes_of(i32)},
        {"i.bool", tf::dtype::boolean, {3}, as_bytes_of(flags)},
    };
    tf::write_safetensors(file(), in);
    EXPECT_FALSE(fs::exists(file().string() + ".tmp"));

    const auto st = tf::safetensors_file::open(file());
    EXPECT_EQ(st.path(), file());
    ASSERT_EQ(st.tensors().size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {  // file order = order given
        EXPECT_EQ(st.tensors()[i].name, in[i].name);
        EXPECT_EQ(st.tensors()[i].type, in[i].type);
        EXPECT_EQ(st.tensors()[i].shape, in[i].shape);
        ASSERT_EQ(st.tensors()[i].bytes.size(), in[i].bytes.size());
        // (memcmp must not see the null pointer of an empty span: UBSan)
        EXPECT_TRUE(in[i].bytes.empty() ||
                    std::memcmp(st.tensors()[i].bytes.data(), in[i].bytes.data(), in[i].bytes.size()) == 0);
    }
    EXPECT_EQ(st.header_size() % 8, 0u);
    EXPECT_TRUE(st.metadata().empty());
    EXPECT_EQ(st.find("nope"), nullptr);

    EXPECT_EQ(tf::to_f32(*st.find("a.f32")), f32);

    const auto h = tf::to_f32(*st.find("b.f16"));
    EXPECT_EQ(h[0], 1.0f);
    EXPECT_EQ(h[1], -2.5f);
    EXPECT_EQ(h[2], 65504.0f);
    EXPECT_EQ(h[3], 5.960464477539063e-08f);  // smallest subnormal, 2^-24
    EXPECT_EQ(h[4], 0.0f);
    EXPECT_TRUE(std::signbit(h[4]));
    EXPECT_EQ(h[5], std::ldexp(1023.0f, -24));  // largest subnormal

    const auto b = tf::to_f32(*st.find("c.bf16"));
    EXPECT_EQ(b, (std::vector<float>{1.0f, -2.5f, 0.0f, 3.140625f}));

    EXPECT_EQ(tf::to_i64(*st.find("d.i64")), i64);

    const auto* s = st.find("e.scalar");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->numel(), 1);
    EXPECT_TRUE(s->shape.empty());
    EXPECT_EQ(tf::to_f32(*s), scalar);

    const auto* e = st.find("f.empty");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->numel(), 0);
    EXPECT_TRUE(e->bytes.empty());
    EXPECT_TRUE(tf::to_f32(*e).empty());

    EXPECT_EQ(tf::to_f32(*st.find("g.f64")), (std::vector<float>{0.5f, -1e10f}));
    EXPECT_EQ(tf::to_i64(*st.find("h.i32")), (std::vector<std::int64_t>{-3, 7}));
    EXPECT_EQ(tf::to_i64(*st.find("i.bool")), (std::vector<std::int64_t>{0, 1, 1}));
}

TEST_F(SafetensorsTest, MetadataRoundTrip) {
    const std::vector<float> w{1.0f, 2.0f};
    const std::vector<tf::tensor_to_write> in{{"w", tf::dtype::f32, {2}, as_bytes_of(w)}};
    const std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "quote \" and é"}};
    tf::write_safetensors(file(), in, meta);
    const auto st = tf::safetensors_file::open(file());
    EXPECT_EQ(st.metadata(), meta);
    EXPECT_EQ(tf::to_f32(*st.find("w")), w);
}

TEST_F(SafetensorsTest, NoTensorsAtAll) {
    tf::write_safetensors(file(), {}, {{"k", "v"}});
    const auto st = tf::safetensors_file::open(file());
    EXPECT_TRUE(st.tensors().empty());
    EXPECT_EQ(st.metadata().at("k"), "v");
}

TEST_F(SafetensorsTest, FileOrderIsByOffsetNotHeaderOrder) {
    // header keys sorted one way, offsets the other way
    std::string data(8, '\0');
    const auto p = write_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                              data);
    const auto st = tf::safetensors_file::open(p);
    ASSERT_EQ(st.tensors().size(), 2u);
    EXPECT_EQ(st.tensors()[0].name, "b");
    EXPECT_EQ(st.tensors()[1].name, "a");
    EXPECT_EQ(st.find("a"), &st.tensors()[1]);
}

TEST_F(SafetensorsTest, MoveKeepsViewsValid) {
    std::vector<float> w(100);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i);
    std::vector<tf::tensor_to_write> in{{"x", tf::dtype::f32, {100}, as_bytes_of(w)}};
    tf::write_safetensors(file(), in);
    auto a = tf::safetensors_file::open(file());
    const auto* before = a.find("x");
    auto b = std::move(a);
    EXPECT_EQ(b.find("x"), before);
    EXPECT_EQ(b.find("x")->name, "x");
    EXPECT_EQ(tf::to_f32(*b.find("x")), w);
    tf::safetensors_file c = tf::safetensors_file::open(file());
    c = std::move(b);
    EXPECT_EQ(tf::to_f32(*c.find("x")), w);
}

TEST_F(SafetensorsTest, UnalignedTensorIsReadable) {
    // a 2-byte U8 tensor first pushes the F32 tensor to an odd offset
    std::string data = "\x01\x02";
    const float v[2] = {1.5f, -4.0f};
    data.append(reinterpret_cast<const char*>(v), sizeof v);
    std::string header = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}})";
    header.append((8 - header.size() % 8) % 8, ' ');
    const auto st = tf::safetensors_file::open(write_file(header, data));
    const auto* b = st.find("b");
    ASSERT_NE(b, nullptr);
    EXPECT_FALSE(b->is_aligned());
    EXPECT_EQ(tf::to_f32(*b), (std::vector<float>{1.5f, -4.0f}));
    EXPECT_EQ(tf::to_i64(*st.find("a")), (std::vector<std::int64_t>{1, 2}));
}

// float8 tensors (F8_E4M3: e4m3fn, F8_E5M2) read exactly as float32, at
// an odd offset too. e4m3fn: 0x38 1, 0xc0 -2, 0x7e 448 (the largest), 0x01
// 2^-9 (the smallest subnormal), 0x7f NaN; e5m2: 0x3c 1, 0xfc -inf, 0x01 2^-16.
TEST_F(SafetensorsTest, Float8IsReadExactly) {
    const std::string data("\x07\x38\xc0\x7e\x01\x7f\x3c\xfc\x01", 9);
    std::string header = R"({"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                         R"("a":{"dtype":"F8_E4M3","shape":[5],"data_offsets":[1,6]},)"
                         R"("b":{"dtype":"F8_E5M2","shape":[3],"data_offsets":[6,9]}})";
    header.append((8 - header.size() % 8) % 8, ' ');
    const auto st = tf::safetensors_file::open(write_file(header, data));
    const auto& a = *st.find("a");
    EXPECT_EQ(a.type, tf::dtype::f8_e4m3);
    const auto fa = tf::to_f32(a);
    ASSERT_EQ(fa.size(), 5u);
    EXPECT_EQ(fa[0], 1.f);
    EXPECT_EQ(fa[1], -2.f);
    EXPECT_EQ(fa[2], 448.f);
    EXPECT_EQ(fa[3], 0.001953125f);
    EXPECT_TRUE(std::isnan(fa[4]));
    EXPECT_EQ(tf::to_f32(*st.find("b")),
              (std::vector<float>{1.f, -std::numeric_limits<float>::infinity(), 1.f / 65536}));
}

TEST_F(SafetensorsTest, HeaderWithoutPaddingAndTrailingBytesIsAccepted) {
    std::string data(4, '\0');
    data += "extra";
    const auto st = tf::safetensors_file::open(
        write_file(R"({"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", data));
    EXPECT_EQ(tf::to_f32(*st.find("w")), (std::vector<float>{0.0f}));
}

TEST_F(SafetensorsTest, ConvertChecksSizeAndDtype) {
    const std::vector<std::int64_t> i{1, 2};
    const std::vector<tf::tensor_to_write> in{{"ids", tf::dtype::i64, {2}, as_bytes_of(i)}};
    tf::write_safetensors(file(), in);
    const auto st = tf::safetensors_file::open(file());
    const auto& t = *st.find("ids");
    std::vector<float> f(2);
    try {
        tf::read_as_f32(t, f);
        ADD_FAILURE();
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "safetensors.convert");
        EXPECT_CONTAINS(e.what(), "ids");
    }
    std::vector<std::int64_t> small(1);
    try {
        tf::read_as_i64(t, small);
        ADD_FAILURE();
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "safetensors.convert");
        EXPECT_CONTAINS(e.what(), "ids");
    }
}

TEST_F(SafetensorsTest, WriterRefusesInconsistentInput) {
    const std::vector<float> w{1.0f, 2.0f, 3.0f};
    const std::vector<tf::tensor_to_write> wrong_size{{"w", tf::dtype::f32, {2}, as_bytes_of(w)}};
    EXPECT_THROW(tf::write_safetensors(file(), wrong_size), tf::error);
    const std::vector<tf::tensor_to_write> twice{{"w", tf::dtype::f32, {3}, as_bytes_of(w)},
                                                 {"w", tf::dtype::f32, {3}, as_bytes_of(w)}};
    EXPECT_THROW(tf::write_safetensors(file(), twice), tf::error);
    EXPECT_FALSE(fs::exists(file()));
    EXPECT_FALSE(fs::exists(file().string() + ".tmp"));
}

// -- malformed files: one test per rule ------------------------------------------

TEST_F(SafetensorsTest, MissingFile) {
    const auto msg = open_error(file("absent.safetensors"), "safetensors.io");
    EXPECT_CONTAINS(msg, std::strerror(ENOENT));
}

TEST_F(SafetensorsTest, ShorterThanEightBytes) {
    const auto msg = open_error(write_raw(std::string("\x05\x00\x00", 3)), "safetensors.truncated");
    EXPECT_CONTAINS(msg, "3 bytes");
}

TEST_F(SafetensorsTest, EmptyFile) { open_error(write_raw(""), "safetensors.truncated"); }

TEST_F(SafetensorsTest, HeaderLengthBeyondFile) {
    std::string s(8, '\0');
    const std::uint64_t n = 123456789;
    std::memcpy(s.data(), &n, 8);
    s += "{}";
    const auto msg = open_error(write_raw(s), "safetensors.header");
    EXPECT_CONTAINS(msg, "header length 123456789 exceeds file size 10");
}

TEST_F(SafetensorsTest, HeaderLengthHuge) {
    std::string s(8, '\0');
    const std::uint64_t n = std::numeric_limits<std::uint64_t>::max();  // 8 + n would wrap
    std::memcpy(s.data(), &n, 8);
    open_error(write_raw(s + "{}"), "safetensors.header");
}

TEST_F(SafetensorsTest, HeaderLengthOverLimit) {
    // a sparse file of 100 MB + a bit, so the length fits but passes the limit
    const auto p = write_file("{}");
    const std::uint64_t n = 100'000'001;
    {
        std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
        f.write(reinterpret_cast<const char*>(&n), 8);
    }
    fs::resize_file(p, 8 + n + 16);
    const auto msg = open_error(p, "safetensors.header");
    EXPECT_CONTAINS(msg, "limit");
}

TEST_F(SafetensorsTest, HeaderNotJson) {
    const auto msg = open_error(write_file(R"({"w": {"dtype": "F32",)"), "safetensors.header");
    EXPECT_CONTAINS(msg, "not valid JSON");
}

TEST_F(SafetensorsTest, HeaderNotObject) {
    const auto msg = open_error(write_file("[1, 2]  "), "safetensors.header");
    EXPECT_CONTAINS(msg, "array");
}

TEST_F(SafetensorsTest, MetadataNotStrings) {
    const auto msg = open_error(write_file(R"({"__metadata__":{"epochs":3}})"), "safetensors.metadata");
    EXPECT_CONTAINS(msg, "epochs");
}

TEST_F(SafetensorsTest, EntryNotObject) {
    const auto msg = open_error(write_file(R"({"w":[1,2]})"), "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
}

TEST_F(SafetensorsTest, MissingDtype) {
    const auto msg = open_error(write_file(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')),
                                "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "dtype");
}

TEST_F(SafetensorsTest, DtypeNotString) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":1,"shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')),
        "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "dtype");
}

TEST_F(SafetensorsTest, MissingShape) {
    const auto msg = open_error(write_file(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", std::string(4, '\0')),
                                "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "shape");
}

TEST_F(SafetensorsTest, ShapeNotArray) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", std::string(4, '\0')),
        "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "shape");
}

TEST_F(SafetensorsTest, ShapeNegative) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0')),
        "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "-1");
}

TEST_F(SafetensorsTest, ShapeNotInteger) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", std::string(4, '\0')),
        "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    const auto msg2 = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", std::string(4, '\0')),
        "safetensors.entry");
    EXPECT_CONTAINS(msg2, "\"w\"");
}

TEST_F(SafetensorsTest, MissingDataOffsets) {
    const auto msg = open_error(write_file(R"({"w":{"dtype":"F32","shape":[1]}})", std::string(4, '\0')),
                                "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "data_offsets");
}

TEST_F(SafetensorsTest, DataOffsetsWrongLength) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", std::string(8, '\0')),
        "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "data_offsets");
}

TEST_F(SafetensorsTest, DataOffsetsNegative) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", std::string(4, '\0')),
        "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "data_offsets");
}

TEST_F(SafetensorsTest, DataOffsetsReversed) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", std::string(4, '\0')),
        "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "begin is past end");
}

TEST_F(SafetensorsTest, UnknownDtype) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F8_E8M0","shape":[1],"data_offsets":[0,1]}})", std::string(1, '\0')),
        "safetensors.dtype");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "F8_E8M0");
}

TEST_F(SafetensorsTest, DuplicateName) {
    const auto msg = open_error(write_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                           R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                           std::string(8, '\0')),
                                "safetensors.duplicate");
    EXPECT_CONTAINS(msg, "\"w\"");
}

TEST_F(SafetensorsTest, DuplicateKeysInsideEntriesAreNotTensorNames) {
    // the same key at depth 2 (inside two different entries) is fine
    const auto st = tf::safetensors_file::open(
        write_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                   std::string(8, '\0')));
    EXPECT_EQ(st.tensors().size(), 2u);
}

TEST_F(SafetensorsTest, OffsetsBeyondData) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')),
        "safetensors.offsets");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "8 bytes");
}

TEST_F(SafetensorsTest, ByteSizeMismatch) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", std::string(24, '\0')),
        "safetensors.size");
    EXPECT_CONTAINS(msg, "\"w\"");
    EXPECT_CONTAINS(msg, "20");
    EXPECT_CONTAINS(msg, "24");
}

TEST_F(SafetensorsTest, Overlap) {
    const auto msg = open_error(write_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                           std::string(12, '\0')),
                                "safetensors.overlap");
    EXPECT_CONTAINS(msg, "\"a\"");
    EXPECT_CONTAINS(msg, "\"b\"");
}

TEST_F(SafetensorsTest, OverlapWithANestedTensor) {
    // c lies inside a, after b: caught by tracking the furthest end so far
    const auto msg = open_error(write_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                           R"("c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                           std::string(16, '\0')),
                                "safetensors.overlap");
    EXPECT_CONTAINS(msg, "\"a\"");
}

TEST_F(SafetensorsTest, EmptyTensorInsideAnotherIsNotAnOverlap) {
    const auto st = tf::safetensors_file::open(
        write_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                   std::string(8, '\0')));
    EXPECT_EQ(st.find("z")->numel(), 0);
}

TEST_F(SafetensorsTest, ElementCountOverflow) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
        "safetensors.overflow");
    EXPECT_CONTAINS(msg, "\"w\"");
}

TEST_F(SafetensorsTest, ByteCountOverflow) {
    // 2^62 elements fit in int64, 2^62 x 8 bytes do not fit in 64 bits
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
        "safetensors.overflow");
    EXPECT_CONTAINS(msg, "\"w\"");
}

TEST_F(SafetensorsTest, DimensionBeyondInt64) {
    const auto msg = open_error(
        write_file(R"({"w":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})"),
        "safetensors.entry");
    EXPECT_CONTAINS(msg, "\"w\"");
}

}  // namespace
