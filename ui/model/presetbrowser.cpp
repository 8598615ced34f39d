#include "model/presetbrowser.h"

#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace initscope::ui {

namespace {
constexpr int kEntryRole = Qt::UserRole + 1;
}

PresetBrowser::PresetBrowser(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("presetBrowser"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    search_ = new QLineEdit;
    search_->setObjectName(QStringLiteral("presetSearch"));
    search_->setPlaceholderText(tr("Search titles and notes (e.g. relu, chaos, gradient)"));
    search_->setClearButtonEnabled(true);
    layout->addWidget(search_);
    list_ = new QListWidget;
    list_->setObjectName(QStringLiteral("presetList"));
    list_->setWordWrap(true);
    list_->setUniformItemSizes(false);
    layout->addWidget(list_, 2);
    note_ = new QTextBrowser;
    note_->setObjectName(QStringLiteral("presetNote"));
    note_->setOpenExternalLinks(false);
    layout->addWidget(note_, 3);
    load_ = new QPushButton(tr("&Load preset"));
    load_->setObjectName(QStringLiteral("presetLoad"));
    load_->setToolTip(tr("Set every control from the preset, run it and open its view "
                         "(or double-click it, or press Enter)"));
    layout->addWidget(load_);
    folder_ = new QLabel;
    folder_->setWordWrap(true);
    folder_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont small = folder_->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    folder_->setFont(small);
    layout->addWidget(folder_);

    connect(search_, &QLineEdit::textChanged, this, &PresetBrowser::setFilter);
    connect(search_, &QLineEdit::returnPressed, this, &PresetBrowser::chooseCurrent);
    connect(list_, &QListWidget::currentRowChanged, this, &PresetBrowser::showNote);
    connect(list_, &QListWidget::itemActivated, this, &PresetBrowser::chooseCurrent);
    connect(load_, &QPushButton::clicked, this, &PresetBrowser::chooseCurrent);
    refresh();
}

void PresetBrowser::refresh() {
    QStringList problems;
    entries_ = availablePresets(&problems);
    folder_->setText(tr("Your presets (File \u25b8 Save to my presets) are kept in %1%2")
                         .arg(QDir::toNativeSeparators(userPresetDir()),
                              problems.isEmpty() ? QString()
                                                 : tr("; %n file(s) there could not be read",
                                                      nullptr, static_cast<int>(problems.size()))));
    folder_->setToolTip(problems.join(QStringLiteral("\n\n")));
    fill();
}

void PresetBrowser::setFilter(const QString&) {
    fill();
}

void PresetBrowser::fill() {
    const QString previous =
        list_->currentItem() ? list_->currentItem()->data(Qt::UserRole).toString() : QString();
    const QStringList words = search_->text().split(QLatin1Char(' '), Qt::SkipEmptyParts);
    list_->clear();
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const Preset& p = entries_[i].preset;
        const QString title = QString::fromStdString(p.title.empty() ? p.name : p.title);
        const QString hay = title + QLatin1Char(' ') + QString::fromStdString(p.name) +
                            QLatin1Char(' ') + QString::fromStdString(p.note);
        bool match = true;
        for (const QString& w : words)
            match = match && hay.contains(w, Qt::CaseInsensitive);
        if (!match)
            continue;
        auto* item =
            new QListWidgetItem(entries_[i].bundled() ? title : tr("%1  (yours)").arg(title));
        item->setData(Qt::UserRole, QString::fromStdString(p.name));
        item->setData(kEntryRole, static_cast<int>(i));
        item->setToolTip(entries_[i].bundled()
                             ? tr("bundled preset '%1'").arg(item->data(Qt::UserRole).toString())
                             : QDir::toNativeSeparators(entries_[i].path));
        list_->addItem(item);
    }
    if (list_->count() == 0) {
        note_->setHtml(tr("<p><i>No preset matches \u201c%1\u201d.</i></p>")
                           .arg(search_->text().toHtmlEscaped()));
        load_->setEnabled(false);
        return;
    }
    load_->setEnabled(true);
    if (!previous.isEmpty() && select(previous))
        return;
    list_->setCurrentRow(0);
}

QStringList PresetBrowser::visibleNames() const {
    QStringList names;
    for (int i = 0; i < list_->count(); ++i)
        names << list_->item(i)->data(Qt::UserRole).toString();
    return names;
}

bool PresetBrowser::select(const QString& name) {
    for (int i = 0; i < list_->count(); ++i) {
        if (list_->item(i)->data(Qt::UserRole).toString() == name) {
            list_->setCurrentRow(i);
            return true;
        }
    }
    return false;
}

void PresetBrowser::showNote() {
    QListWidgetItem* item = list_->currentItem();
    if (!item) {
        note_->clear();
        return;
    }
    const PresetEntry& e = entries_[static_cast<std::size_t>(item->data(kEntryRole).toInt())];
    const Preset& p = e.preset;
    QString html =
        QStringLiteral("<h3>%1</h3>")
            .arg(QString::fromStdString(p.title.empty() ? p.name : p.title).toHtmlEscaped());
    for (const QString& para :
         QString::fromStdString(p.note).split(QStringLiteral("\n\n"), Qt::SkipEmptyParts))
        html += QStringLiteral("<p>%1</p>").arg(para.toHtmlEscaped());
    html += tr("<p style='color:gray'>Opens the %1 view \u2022 depth %2, width %3, %4, %5, "
               "gain %6</p>")
                .arg(QString::fromStdString(p.view))
                .arg(p.spec.depth)
                .arg(p.spec.width)
                .arg(QString::fromStdString(activationName(p.spec.activation)),
                     QString::fromStdString(initSchemeName(p.spec.init)))
                .arg(p.spec.gain, 0, 'g', 4);
    note_->setHtml(html);
}

void PresetBrowser::chooseCurrent() {
    QListWidgetItem* item = list_->currentItem();
    if (!item)
        return;
    const PresetEntry& e = entries_[static_cast<std::size_t>(item->data(kEntryRole).toInt())];
    emit presetChosen(e.preset, e.path);
}

} // namespace initscope::ui
