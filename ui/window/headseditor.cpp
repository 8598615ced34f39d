#include "window/headseditor.h"

#include "network/heads.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLocale>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <limits>
#include <set>

namespace initscope::ui {

namespace {

QString number(double v) {
    return QString::number(v, 'g', 17).replace(QStringLiteral("e+"), QStringLiteral("e"));
}

double cellNumber(const QTableWidget* t, int row, int col) {
    const QTableWidgetItem* it = t->item(row, col);
    bool ok = false;
    const double v = it ? QLocale::c().toDouble(it->text().trimmed(), &ok) : 0.0;
    return ok ? v : std::numeric_limits<double>::quiet_NaN();
}

} // namespace

HeadsEditor::HeadsEditor(QWidget* parent) : QWidget(parent) {
    table_ = new QTableWidget(0, kColumns);
    table_->setObjectName(QStringLiteral("headsTable"));
    table_->setHorizontalHeaderLabels(
        {tr("Name"), tr("Widths"), tr("Scheme"), tr("Gain"), tr("Out bias"), tr("Loss wt")});
    const QString tips[kColumns] = {
        tr("The head's name: a-z, 0-9, - and _; it keys the head's random streams, so adding or "
           "removing another head never changes this one's weights"),
        tr("Dense layer widths on the trunk's last activation, e.g. 64,10 (the last = outputs, "
           "linear)"),
        tr("Initialization scheme of every layer of the head, at the layer's own fan-in and "
           "fan-out"),
        tr("Variance gain of the head's weights (naive normal / uniform: the variance itself)"),
        tr("Every bias of the output layer (e.g. an optimistic value)"),
        tr("Loss weight in training: total loss = sum of weight x head loss; it scales the head's "
           "gradient into the trunk and never its initialization")};
    for (int c = 0; c < kColumns; ++c)
        table_->horizontalHeaderItem(c)->setToolTip(tips[c]);
    table_->verticalHeader()->setVisible(false);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setMinimumHeight(90);
    table_->setMaximumHeight(150);
    add_ = new QPushButton(tr("Add head"));
    add_->setObjectName(QStringLiteral("addHead"));
    add_->setToolTip(tr("Add a head on the trunk's last activation (10 outputs, lecun-normal)"));
    remove_ = new QPushButton(tr("Remove"));
    remove_->setObjectName(QStringLiteral("removeHead"));
    remove_->setToolTip(tr("Remove the selected head"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(add_);
    buttons->addWidget(remove_);
    buttons->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(table_);
    layout->addLayout(buttons);
    connect(add_, &QPushButton::clicked, this, [this] { addHead(); });
    connect(remove_, &QPushButton::clicked, this, &HeadsEditor::removeCurrent);
    connect(table_, &QTableWidget::itemChanged, this, [this] {
        if (!updating_)
            emit edited();
    });
    remove_->setEnabled(false);
}

void HeadsEditor::addRow(const HeadSpec& h) {
    const int row = table_->rowCount();
    table_->insertRow(row);
    QStringList widths;
    for (int w : h.widths)
        widths << QString::number(w);
    table_->setItem(row, Name, new QTableWidgetItem(QString::fromStdString(h.name)));
    table_->setItem(row, Widths, new QTableWidgetItem(widths.join(QLatin1Char(','))));
    auto* scheme = new QComboBox;
    for (InitScheme k : allInitSchemes())
        if (k != InitScheme::DeltaOrthogonal) // a conv kernel's scheme; heads are dense
            scheme->addItem(QString::fromStdString(initSchemeName(k)), static_cast<int>(k));
    scheme->setCurrentIndex(scheme->findData(static_cast<int>(h.scheme)));
    scheme->setToolTip(table_->horizontalHeaderItem(Scheme)->toolTip());
    connect(scheme, &QComboBox::currentIndexChanged, this, [this] {
        if (!updating_)
            emit edited();
    });
    table_->setCellWidget(row, Scheme, scheme);
    table_->setItem(row, Gain, new QTableWidgetItem(number(h.gain)));
    table_->setItem(row, Bias, new QTableWidgetItem(number(h.bias)));
    table_->setItem(row, Weight, new QTableWidgetItem(number(h.weight)));
    remove_->setEnabled(true);
}

std::vector<HeadSpec> HeadsEditor::heads() const {
    std::vector<HeadSpec> out;
    for (int r = 0; r < table_->rowCount(); ++r) {
        HeadSpec h;
        h.name = table_->item(r, Name) ? table_->item(r, Name)->text().trimmed().toStdString()
                                       : std::string();
        h.widths.clear();
        const QString widths =
            table_->item(r, Widths) ? table_->item(r, Widths)->text() : QString();
        for (const QString& part : widths.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const int w = part.trimmed().toInt(&ok);
            h.widths.push_back(ok ? w : 0); // 0: refused by validate, naming the head
        }
        if (const auto* c = qobject_cast<const QComboBox*>(table_->cellWidget(r, Scheme)))
            h.scheme = static_cast<InitScheme>(c->currentData().toInt());
        h.gain = cellNumber(table_, r, Gain);
        h.bias = cellNumber(table_, r, Bias);
        h.weight = cellNumber(table_, r, Weight);
        out.push_back(std::move(h));
    }
    return out;
}

void HeadsEditor::setHeads(const std::vector<HeadSpec>& heads) {
    updating_ = true;
    table_->setRowCount(0);
    for (const HeadSpec& h : heads)
        addRow(h);
    remove_->setEnabled(!heads.empty());
    updating_ = false;
}

void HeadsEditor::addHead(int outputs) {
    std::set<std::string> names;
    for (const HeadSpec& h : heads())
        names.insert(h.name);
    int k = 1;
    while (names.count("head" + std::to_string(k)))
        ++k;
    HeadSpec h;
    h.name = "head" + std::to_string(k);
    h.widths = {outputs};
    updating_ = true;
    addRow(h);
    updating_ = false;
    table_->setCurrentCell(table_->rowCount() - 1, Name);
    emit edited();
}

void HeadsEditor::removeCurrent() {
    const int row = table_->currentRow() >= 0 ? table_->currentRow() : table_->rowCount() - 1;
    if (row < 0)
        return;
    updating_ = true;
    table_->removeRow(row);
    updating_ = false;
    remove_->setEnabled(table_->rowCount() > 0);
    emit edited();
}

} // namespace initscope::ui
