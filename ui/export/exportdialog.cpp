#include "export/exportdialog.h"

#include "window/settings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include <algorithm>

namespace initscope::ui {

namespace {
const QString kDirKey = QStringLiteral("export/lastDir");
const QStringList kSuffixes = {QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf"),
                               QStringLiteral("csv")};
} // namespace

QStringList exportPaths(const ExportRequest& request, const QStringList& views) {
    if (!request.everyView)
        return {request.path};
    const QFileInfo f(request.path);
    QStringList out;
    for (const QString& v : views)
        out << f.absolutePath() + QLatin1Char('/') + f.completeBaseName() + QLatin1Char('-') + v +
                   QLatin1Char('.') + f.suffix();
    return out;
}

ExportDialog::ExportDialog(const QString& view, QWidget* parent) : QDialog(parent), view_(view) {
    setWindowTitle(tr("Export figure"));
    setObjectName(QStringLiteral("exportDialog"));
    auto* form = new QFormLayout;
    which_ = new QComboBox;
    which_->addItem(tr("The %1 view").arg(view));
    which_->addItem(tr("Every view (one file each)"));
    form->addRow(tr("&Chart:"), which_);
    format_ = new QComboBox;
    format_->addItem(tr("PNG image"), kSuffixes[0]);
    format_->addItem(tr("SVG vector image"), kSuffixes[1]);
    format_->addItem(tr("PDF (vector)"), kSuffixes[2]);
    format_->addItem(tr("CSV: the values behind the chart"), kSuffixes[3]);
    form->addRow(tr("&Format:"), format_);
    auto* sizeRow = new QHBoxLayout;
    width_ = new QSpinBox;
    width_->setRange(320, 4000);
    // slides: the CLI's default size, not whatever shape the window has
    width_->setValue(FigureOptions{}.size.width());
    width_->setSuffix(tr(" px"));
    height_ = new QSpinBox;
    height_->setRange(220, 4000);
    height_->setValue(FigureOptions{}.size.height());
    height_->setSuffix(tr(" px"));
    scale_ = new QDoubleSpinBox;
    scale_->setRange(0.5, 8);
    scale_->setSingleStep(0.5);
    scale_->setValue(2.0);
    scale_->setPrefix(tr("\u00d7 "));
    scale_->setToolTip(tr("Pixels per point of the PNG: 2 keeps text sharp on slides and HiDPI "
                          "screens"));
    sizeRow->addWidget(width_);
    sizeRow->addWidget(new QLabel(QStringLiteral("\u00d7")));
    sizeRow->addWidget(height_);
    sizeRow->addSpacing(12);
    sizeRow->addWidget(new QLabel(tr("scale")));
    sizeRow->addWidget(scale_);
    auto* sizeLabel = new QLabel(tr("&Size:"));
    sizeLabel->setBuddy(width_);
    form->addRow(sizeLabel, sizeRow);
    lecture_ = new QCheckBox(tr("Lecture style: large fonts, thick lines, white background"));
    lecture_->setChecked(true);
    form->addRow(QString(), lecture_);
    auto* pathRow = new QHBoxLayout;
    path_ = new QLineEdit;
    const QString dir = settings::value(kDirKey, QDir::homePath()).toString();
    path_->setText(dir + QStringLiteral("/initscope-%1.png").arg(view));
    auto* browse = new QPushButton(tr("&Browse..."));
    pathRow->addWidget(path_, 1);
    pathRow->addWidget(browse);
    auto* pathLabel = new QLabel(tr("F&ile:"));
    pathLabel->setBuddy(path_);
    form->addRow(pathLabel, pathRow);
    auto* note = new QLabel(tr("PNG and SVG files carry the experiment: open one in initscope "
                               "(or drop it on the window) to get it back."));
    note->setWordWrap(true);
    form->addRow(QString(), note);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);

    connect(browse, &QPushButton::clicked, this, &ExportDialog::browse);
    connect(which_, &QComboBox::currentIndexChanged, this, &ExportDialog::updateEnabled);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        settings::setValue(kDirKey, QFileInfo(path_->text()).absolutePath());
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(format_, &QComboBox::currentIndexChanged, this, [this] {
        // keep the file name, change its suffix
        const QFileInfo f(path_->text());
        path_->setText(f.path() + QLatin1Char('/') + f.completeBaseName() + QLatin1Char('.') +
                       format_->currentData().toString());
        updateEnabled();
    });
    updateEnabled();
}

void ExportDialog::updateEnabled() {
    const QString s = format_->currentData().toString();
    // every view is drawn at the chosen size, in either style; a CSV has neither
    const bool image = s != QLatin1String("csv");
    width_->setEnabled(image);
    height_->setEnabled(image);
    lecture_->setEnabled(image);
    scale_->setEnabled(s == QLatin1String("png"));
}

void ExportDialog::browse() {
    const QString s = format_->currentData().toString();
    const QString path = QFileDialog::getSaveFileName(this, tr("Export to"), path_->text(),
                                                      tr("%1 files (*.%2)").arg(s.toUpper(), s));
    if (path.isEmpty())
        return;
    const QFileInfo f(path);
    path_->setText(f.suffix().isEmpty() ? path + QLatin1Char('.') + s : path);
    const int i = static_cast<int>(kSuffixes.indexOf(QFileInfo(path_->text()).suffix().toLower()));
    if (i >= 0)
        format_->setCurrentIndex(i);
}

ExportRequest ExportDialog::request() const {
    ExportRequest r;
    r.everyView = which_->currentIndex() == 1;
    r.view = view_;
    r.path = path_->text();
    if (QFileInfo(r.path).suffix().isEmpty())
        r.path += QLatin1Char('.') + format_->currentData().toString();
    r.options.size = QSize(width_->value(), height_->value());
    r.options.scale = scale_->value();
    r.options.lecture = lecture_->isChecked();
    return r;
}

} // namespace initscope::ui
